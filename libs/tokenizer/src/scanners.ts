/*
 * Hand-written pre-tokenizers for the published tiktoken split patterns: r50k/p50k (GPT-2),
 * cl100k (also Llama 3's Split regex) and o200k. Each is a left-to-right scanner that
 * decides, at every position, which alternative of the regex matches first and where its
 * greedy match ends, including the backtracking cases:
 *   \s*[\r\n]+     ends after the last \r or \n of the whitespace run;
 *   \s+(?!\S)      is the run minus its last char when a non-space follows (2+ chars);
 *   U*W+ (o200k)   ends after the last W char when the U run is not followed by a W char;
 *   P? prefixes    are retried without the prefix when the prefix char is also a letter
 *                  class member (a combining mark), as the regex backtracks.
 * What it is not: a general regex engine. scannerFor returns null for any other pattern.
 * Every scanner is checked against the regex (RegexSplitter) on the test corpus and on
 * random strings.
 * Reference: openai/tiktoken tiktoken_ext/openai_public.py (the patterns).
 */
import { BMP_FLAGS, CRLF, L, LO, N, UP, WS, cpLen, flagsAt } from './char-class';
import type { PieceSplitter } from './splitter';

export const R50K_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
export const CL100K_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const CL100K_EXPANDED =
  "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const O200K_CASES = "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)?";
const O200K_CASES_I = "(?i:'s|'t|'re|'ve|'m|'ll|'d)?";
const O200K_TAIL = '|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';
const o200k = (c: string) =>
  `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${c}|` +
  `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${c}${O200K_TAIL}`;
export const O200K_PATTERN = o200k(O200K_CASES_I);

/** A fast scanner equivalent to `pattern`, or null when there is none. */
export function scannerFor(pattern: string): PieceSplitter | null {
  if (pattern === R50K_PATTERN) return new R50kScanner(pattern);
  if (pattern === CL100K_PATTERN || pattern === CL100K_EXPANDED) return new Cl100kScanner(pattern);
  if (pattern === O200K_PATTERN || pattern === o200k(O200K_CASES)) return new O200kScanner(pattern);
  return null;
}

const APOS = 39;
const SPACE = 32;
const OTHER = L | N | WS; // a char is "other" ([^\s\p{L}\p{N}]) when it has none of these

/** Length (1 or 2) of a contraction s|t|re|ve|m|ll|d after an apostrophe at i, or 0. */
function contraction(s: string, i: number, n: number, caseless: boolean): number {
  if (i + 1 >= n) return 0;
  let a = s.charCodeAt(i + 1);
  if (caseless && a >= 65 && a <= 90) a += 32;
  if (a === 115 || a === 116 || a === 109 || a === 100) return 2; // s t m d
  if (i + 2 >= n || (a !== 114 && a !== 118 && a !== 108)) return 0;
  let b = s.charCodeAt(i + 2);
  if (caseless && b >= 65 && b <= 90) b += 32;
  if ((a === 114 || a === 118) && b === 101) return 3; // re ve
  if (a === 108 && b === 108) return 3; // ll
  return 0;
}

/** End of the run of chars having any of `mask` from i (BMP chars inline, surrogates slow path). */
function run(s: string, i: number, n: number, mask: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) {
      if (!(BMP_FLAGS[c] & mask)) break;
      i++;
    } else {
      if (!(flagsAt(s, i) & mask)) break;
      i += cpLen(s, i);
    }
  }
  return i;
}

/** End of the run of "other" chars from i. */
function otherRun(s: string, i: number, n: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) {
      if (BMP_FLAGS[c] & OTHER) break;
      i++;
    } else {
      if (flagsAt(s, i) & OTHER) break;
      i += cpLen(s, i);
    }
  }
  return i;
}

/** The three whitespace alternatives at a whitespace char i (all White_Space chars are BMP). */
function whitespace(s: string, i: number, n: number, crlfAlternative: boolean): number {
  let j = i;
  let lastCrlf = -1;
  for (; j < n; j++) {
    const f = flagsAt(s, j);
    if (!(f & WS)) break;
    if (f & CRLF) lastCrlf = j;
  }
  if (crlfAlternative && lastCrlf >= 0) return lastCrlf + 1; // \s*[\r\n]+
  if (j === n) return n; // \s+(?!\S) at the end
  if (j - i >= 2) return j - 1; // \s+(?!\S) gives back the last space
  return j; // \s+
}

abstract class Scanner implements PieceSplitter {
  constructor(readonly pattern: string) {}

  split(text: string, out: string[]): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      const end = this.next(text, i, n);
      out.push(text.slice(i, end));
      i = end;
    }
  }

  /** End of the piece that starts at i. */
  abstract next(s: string, i: number, n: number): number;
}

/** 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
class R50kScanner extends Scanner {
  next(s: string, i: number, n: number): number {
    const c = s.charCodeAt(i);
    if (c === APOS) {
      const k = contraction(s, i, n, false);
      if (k) return i + k;
    }
    const start = c === SPACE && i + 1 < n ? i + 1 : i;
    const f = flagsAt(s, start);
    if (f & L) return run(s, start, n, L);
    if (f & N) return run(s, start, n, N);
    if ((f & OTHER) === 0) return otherRun(s, start, n);
    return whitespace(s, i, n, false);
  }
}

/** (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
class Cl100kScanner extends Scanner {
  next(s: string, i: number, n: number): number {
    const c = s.charCodeAt(i);
    if (c === APOS) {
      const k = contraction(s, i, n, true);
      if (k) return i + k;
    }
    const f = flagsAt(s, i);
    if (f & L) return run(s, i, n, L);
    const l = cpLen(s, i);
    if (!(f & (N | CRLF)) && i + l < n && flagsAt(s, i + l) & L) return run(s, i + l, n, L);
    if (f & N) return numbers(s, i, n);
    const start = c === SPACE && i + 1 < n && (flagsAt(s, i + 1) & OTHER) === 0 ? i + 1 : i;
    if ((flagsAt(s, start) & OTHER) === 0) return crlfRun(s, otherRun(s, start, n), n, false);
    return whitespace(s, i, n, true);
  }
}

/** \p{N}{1,3} */
function numbers(s: string, i: number, n: number): number {
  let j = i + cpLen(s, i);
  for (let k = 1; k < 3 && j < n && flagsAt(s, j) & N; k++) j += cpLen(s, j);
  return j;
}

/** [\r\n]* (and '/' too for o200k's [\r\n/]*) */
function crlfRun(s: string, j: number, n: number, slash: boolean): number {
  for (; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c !== 13 && c !== 10 && !(slash && c === 47)) break;
  }
  return j;
}

/** o200k: cased words with optional prefix and contraction, then cl100k-like tail. */
class O200kScanner extends Scanner {
  next(s: string, i: number, n: number): number {
    const w = this.word(s, i, n);
    if (w > 0) return w;
    const f = flagsAt(s, i);
    if (f & N) return numbers(s, i, n);
    const c = s.charCodeAt(i);
    const start = c === SPACE && i + 1 < n && (flagsAt(s, i + 1) & OTHER) === 0 ? i + 1 : i;
    if ((flagsAt(s, start) & OTHER) === 0) return crlfRun(s, otherRun(s, start, n), n, true);
    return whitespace(s, i, n, true);
  }

  /** The two word alternatives, each tried with then without the optional prefix; -1 if none. */
  private word(s: string, i: number, n: number): number {
    const f = flagsAt(s, i);
    const prefix = !(f & (L | N | CRLF)) ? i + cpLen(s, i) : -1;
    let e = prefix >= 0 && prefix < n ? upperThenLower(s, prefix, n) : -1;
    if (e < 0) e = upperThenLower(s, i, n);
    if (e < 0 && prefix >= 0 && prefix < n) e = upperPlus(s, prefix, n);
    if (e < 0) e = upperPlus(s, i, n);
    if (e < 0) return -1;
    if (e < n && s.charCodeAt(e) === APOS) e += contraction(s, e, n, true);
    return e;
  }
}

/** U*W+ from i with the regex's backtracking; end or -1. */
function upperThenLower(s: string, i: number, n: number): number {
  let j = i;
  let lastLower = -1;
  while (j < n) {
    const f = flagsAt(s, j);
    if (!(f & UP)) break;
    if (f & LO) lastLower = j;
    j += cpLen(s, j);
  }
  if (j < n && flagsAt(s, j) & LO) return run(s, j, n, LO);
  return lastLower >= 0 ? lastLower + cpLen(s, lastLower) : -1;
}

/** U+W* from i; end or -1. */
function upperPlus(s: string, i: number, n: number): number {
  const j = run(s, i, n, UP);
  return j === i ? -1 : run(s, j, n, LO);
}
