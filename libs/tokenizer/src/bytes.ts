/*
 * UTF-8 and the GPT-2 byte <-> unicode alphabet.
 *
 * What it is: helpers to turn JS strings into UTF-8 bytes (surrogates handled as WHATWG
 * TextEncoder does: a lone surrogate becomes U+FFFD, EF BF BD), the 256-entry byte alphabet
 * that byte-level BPE vocabularies (GPT-2, Llama 3, Qwen2) are written in, and a latin1
 * "byte string" view used as a Map key for byte sequences.
 * What it is not: a general text codec; decoding with replacement uses TextDecoder.
 * Reference: openai/gpt-2 encoder.py bytes_to_unicode; WHATWG Encoding (UTF-8 encode).
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** UTF-8 bytes of `s` (lone surrogates become EF BF BD, as in tiktoken and TextEncoder). */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes UTF-8 with U+FFFD for each maximal invalid subsequence (WHATWG, like Rust from_utf8_lossy). */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Bytes -> string with one char per byte (char code = byte): a cheap Map key for byte sequences. */
export function bytesToLatin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** Inverse of bytesToLatin1. */
export function latin1ToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Latin1 byte string of the UTF-8 encoding of `s` (fast path when `s` is ASCII). */
export function utf8Latin1(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return bytesToLatin1(encoder.encode(s));
  }
  return s;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

let byteToUnicodeTable: string[] | null = null;
let unicodeToByteTable: Map<string, number> | null = null;

/**
 * GPT-2's reversible byte -> printable char map: printable latin1 bytes ('!'..'~', '¡'..'¬',
 * '®'..'ÿ') map to themselves, the other 68 bytes map to U+0100 + n in byte order.
 */
export function byteToUnicode(): readonly string[] {
  if (byteToUnicodeTable) return byteToUnicodeTable;
  const table: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) table[b] = printable(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  byteToUnicodeTable = table;
  return table;
}

/** Inverse of byteToUnicode: printable char -> byte. */
export function unicodeToByte(): ReadonlyMap<string, number> {
  if (unicodeToByteTable) return unicodeToByteTable;
  const m = new Map<string, number>();
  byteToUnicode().forEach((ch, b) => m.set(ch, b));
  unicodeToByteTable = m;
  return m;
}

/** GPT-2 alphabet string of some bytes ("Ġthe" for " the"). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  const t = byteToUnicode();
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += t[bytes[i]];
  return s;
}

/** Bytes of a GPT-2 alphabet string, or null if some char is outside the alphabet. */
export function byteLevelToBytes(s: string): Uint8Array | null {
  const m = unicodeToByte();
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = m.get(s[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}
