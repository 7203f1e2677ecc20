/*
 * PieceCache: piece text -> token ids, looked up straight from a span of the input text.
 *
 * What it is: an open-addressing hash table whose keys are the piece strings and whose
 * values live in one flat Int32Array pool (offset, length). A lookup hashes and compares
 * text[start, end) in place, so a cache hit allocates nothing (no substring, no array).
 * When full it is cleared (bounded memory; hot pieces come back at once).
 * What it is not: an LRU; a Map<string, ids> would allocate a substring per lookup.
 * Reference: FNV-1a hashing (Fowler-Noll-Vo), linear probing.
 */

export class PieceCache {
  private keys: Array<string | undefined>;
  private hashes: Int32Array;
  private offsets: Int32Array;
  private lengths: Int32Array;
  private pool = new Int32Array(1 << 16);
  private poolUsed = 0;
  private mask: number;
  private size = 0;

  constructor(
    private readonly capacity = 1 << 17,
    /** Longest piece (UTF-16 units) worth caching. */
    readonly maxPieceLength = 64,
  ) {
    this.mask = capacity * 2 - 1;
    this.keys = new Array(capacity * 2);
    this.hashes = new Int32Array(capacity * 2);
    this.offsets = new Int32Array(capacity * 2);
    this.lengths = new Int32Array(capacity * 2);
  }

  /** FNV-1a over the UTF-16 code units of text[start, end). */
  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h;
  }

  /** Slot holding text[start, end), or -1. */
  find(text: string, start: number, end: number, h: number): number {
    const len = end - start;
    let i = h & this.mask;
    for (;;) {
      const k = this.keys[i];
      if (k === undefined) return -1;
      if (this.hashes[i] === h && k.length === len && sameChars(k, text, start, len)) return i;
      i = (i + 1) & this.mask;
    }
  }

  /** Appends the ids stored in `slot` to out. */
  emit(slot: number, out: number[]): void {
    const off = this.offsets[slot];
    const len = this.lengths[slot];
    if (len === 1) {
      out.push(this.pool[off]); // most pieces are one token
      return;
    }
    const pool = this.pool;
    for (let i = off; i < off + len; i++) out.push(pool[i]);
  }

  insert(piece: string, h: number, ids: readonly number[]): void {
    if (piece.length > this.maxPieceLength) return;
    if (this.size >= this.capacity) this.clear();
    if (this.poolUsed + ids.length > this.pool.length) {
      const bigger = new Int32Array(Math.max(this.pool.length * 2, this.poolUsed + ids.length));
      bigger.set(this.pool.subarray(0, this.poolUsed));
      this.pool = bigger;
    }
    let i = h & this.mask;
    while (this.keys[i] !== undefined) i = (i + 1) & this.mask;
    this.keys[i] = piece;
    this.hashes[i] = h;
    this.offsets[i] = this.poolUsed;
    this.lengths[i] = ids.length;
    for (let k = 0; k < ids.length; k++) this.pool[this.poolUsed++] = ids[k];
    this.size++;
  }

  clear(): void {
    this.keys = new Array(this.capacity * 2);
    this.poolUsed = 0;
    this.size = 0;
  }
}

function sameChars(k: string, text: string, start: number, len: number): boolean {
  for (let j = 0; j < len; j++) if (k.charCodeAt(j) !== text.charCodeAt(start + j)) return false;
  return true;
}
