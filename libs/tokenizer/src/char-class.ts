/*
 * Character classes for the hand-written pre-tokenizers: one flag byte per code point,
 * from a 64K table for the BMP and a memo for astral code points.
 *
 * What it is: L = \p{L}, N = \p{N}, WS = \p{White_Space} (Rust/Oniguruma \s), CRLF = \r or
 * \n, UP = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], LO = [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k's case
 * classes). The table is computed at load time from the JS engine's Unicode properties,
 * so it follows the same Unicode version as the regex fallback it is tested against.
 * Lone surrogates get no flag (they are "other", as a regex sees them).
 * What it is not: a scanner (see scanners.ts).
 * Reference: Unicode UCD general categories and PropList White_Space.
 */

export const L = 1;
export const N = 2;
export const WS = 4;
export const CRLF = 8;
export const UP = 16;
export const LO = 32;

const PROPS: Array<[number, RegExp]> = [
  [L, /\p{L}/u],
  [N, /\p{N}/u],
  [WS, /\p{White_Space}/u],
  [CRLF, /[\r\n]/u],
  [UP, /[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]/u],
  [LO, /[\p{Ll}\p{Lm}\p{Lo}\p{M}]/u],
];

function classify(cp: number): number {
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  const ch = String.fromCodePoint(cp);
  let f = 0;
  for (const [bit, re] of PROPS) if (re.test(ch)) f |= bit;
  return f;
}

/** Flags of every BMP code unit. */
export const BMP_FLAGS: Uint8Array = (() => {
  const table = new Uint8Array(65536);
  // one global regex pass per property over all BMP chars (surrogates excluded)
  let all = '';
  for (let c = 0; c < 0xd800; c++) all += String.fromCharCode(c);
  const offset = 0xe000 - 0xd800;
  for (let c = 0xe000; c < 0x10000; c++) all += String.fromCharCode(c);
  for (const [bit, re] of PROPS) {
    const g = new RegExp(re.source, 'gu');
    for (let m = g.exec(all); m; m = g.exec(all)) {
      const idx = m.index;
      table[idx < 0xd800 ? idx : idx + offset] |= bit;
    }
  }
  return table;
})();

const astral = new Map<number, number>();

/** Flags of the code point starting at s[i] (a lone surrogate gets 0). */
export function flagsAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff) return BMP_FLAGS[c];
  const d = s.charCodeAt(i + 1);
  if (!(d >= 0xdc00 && d <= 0xdfff)) return 0;
  const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  let f = astral.get(cp);
  if (f === undefined) {
    f = classify(cp);
    astral.set(cp, f);
  }
  return f;
}

/** UTF-16 length (1 or 2) of the code point at s[i]. */
export function cpLen(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff) return 1;
  const d = s.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
}
