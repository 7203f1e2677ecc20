/*
 * ByteTable: byte sequence -> token id, without building a string per token.
 *
 * What it is: every token's bytes in one flat Uint8Array, and an open-addressing table
 * keyed by a polynomial hash, H(b0..b{m-1}) = sum b_i * P^(m-1-i) (mod 2^32). That hash
 * lets us get any prefix or suffix hash of a token from its prefix hashes in O(1):
 * H(prefix k) = h_k, H(suffix from k) = h_n - h_k * P^(n-k). Loading the o200k encoding
 * derives ~450k merge pairs this way.
 * What it is not: a general Map; keys are only inserted.
 * Reference: Karp-Rabin rolling hash.
 */

const P = 0x01000193;

export class ByteTable {
  private readonly mask: number;
  private readonly slots: Int32Array; // token id + 1, 0 = empty
  private readonly slotHash: Int32Array;
  private prefix = new Int32Array(256); // scratch for forEachSplit
  private pow = new Int32Array(256);

  constructor(readonly tokenBytes: ReadonlyArray<Uint8Array | undefined>) {
    let cap = 16;
    while (cap < tokenBytes.length * 2) cap <<= 1;
    this.mask = cap - 1;
    this.slots = new Int32Array(cap);
    this.slotHash = new Int32Array(cap);
    tokenBytes.forEach((b, id) => {
      if (b && this.get(b, 0, b.length, hashBytes(b, 0, b.length)) < 0) this.insert(id, hashBytes(b, 0, b.length));
    });
  }

  private insert(id: number, h: number): void {
    let i = mix(h) & this.mask;
    while (this.slots[i] !== 0) i = (i + 1) & this.mask;
    this.slots[i] = id + 1;
    this.slotHash[i] = h;
  }

  /** Id of bytes[start, end) whose hash is h, or -1. */
  get(bytes: Uint8Array, start: number, end: number, h: number): number {
    const len = end - start;
    let i = mix(h) & this.mask;
    for (;;) {
      const s = this.slots[i];
      if (s === 0) return -1;
      if (this.slotHash[i] === h) {
        const t = this.tokenBytes[s - 1]!;
        if (t.length === len && sameBytes(t, bytes, start, len)) return s - 1;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Id of a whole byte array, or -1. */
  lookup(bytes: Uint8Array): number {
    return this.get(bytes, 0, bytes.length, hashBytes(bytes, 0, bytes.length));
  }

  /**
   * Calls fn(left id, right id) for every split of token `b` into two tokens.
   * prefix[k] = H(b[0,k)); H(b[k,n)) = prefix[n] - prefix[k] * P^(n-k).
   */
  forEachSplit(b: Uint8Array, fn: (left: number, right: number) => void): void {
    const n = b.length;
    if (this.prefix.length <= n) {
      this.prefix = new Int32Array(2 * n + 2);
      this.pow = new Int32Array(2 * n + 2);
    }
    const { prefix, pow } = this;
    pow[0] = 1;
    for (let k = 0; k < n; k++) {
      prefix[k + 1] = (Math.imul(prefix[k], P) + b[k]) | 0;
      pow[k + 1] = Math.imul(pow[k], P);
    }
    for (let k = 1; k < n; k++) {
      const left = this.get(b, 0, k, prefix[k]);
      if (left < 0) continue;
      const right = this.get(b, k, n, (prefix[n] - Math.imul(prefix[k], pow[n - k])) | 0);
      if (right >= 0) fn(left, right);
    }
  }
}

/** H(bytes[start, end)). */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = (Math.imul(h, P) + bytes[i]) | 0;
  return h;
}

function sameBytes(t: Uint8Array, bytes: Uint8Array, start: number, len: number): boolean {
  for (let j = 0; j < len; j++) if (t[j] !== bytes[start + j]) return false;
  return true;
}

/** murmur3's fmix32: spreads the polynomial hash's bits before masking (it has weak low bits). */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
