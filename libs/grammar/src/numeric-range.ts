/*
 * Number ranges as EBNF: the decimal spellings of every integer in [lo, hi] (either end may be
 * infinite), and of JSON numbers between integer bounds. Built the way range-to-regex tools do:
 * split [lo, hi] by digit count, then split each equal-length range at its first differing digit.
 *
 *   [7, 123] -> [7-9] | [1-9] [0-9] | "1" [0-1] [0-9] | "1" "2" [0-3]
 *
 * What it is not: exponents. Numbers are written `-? int (. frac)?` with at most 15 fraction
 * digits, a subset of JSON's number syntax that every parser reads.
 */
const FRACTION_DIGITS = 15;

/** EBNF alternatives for the integers a..b written with exactly a.length digits (a, b same length). */
function sameLength(a: string, b: string): string[] {
  if (a.length === 1) return [a === b ? `"${a}"` : `[${a}-${b}]`];
  if (a[0] === b[0]) return sameLength(a.slice(1), b.slice(1)).map((s) => `"${a[0]}" ${s}`);
  const rest = a.length - 1;
  const out: string[] = [];
  const aLow = /^0*$/.test(a.slice(1));
  const bHigh = /^9*$/.test(b.slice(1));
  const midFrom = Number(a[0]) + (aLow ? 0 : 1);
  const midTo = Number(b[0]) - (bHigh ? 0 : 1);
  if (!aLow) out.push(...sameLength(a.slice(1), '9'.repeat(rest)).map((s) => `"${a[0]}" ${s}`));
  if (midFrom <= midTo) out.push(`${midFrom === midTo ? `"${midFrom}"` : `[${midFrom}-${midTo}]`} [0-9]{${rest}}`);
  if (!bHigh) out.push(...sameLength('0'.repeat(rest), b.slice(1)).map((s) => `"${b[0]}" ${s}`));
  return out;
}

/** EBNF for the decimal spellings of the integers lo..hi, 0 <= lo <= hi (hi may be Infinity). */
export function naturalRange(lo: number, hi: number): string {
  const alts: string[] = [];
  const topDigits = hi === Infinity ? String(lo).length : String(hi).length;
  for (let d = String(lo).length; d <= topDigits; d++) {
    const from = Math.max(lo, d === 1 ? 0 : 10 ** (d - 1));
    const to = Math.min(hi, 10 ** d - 1);
    if (from <= to) alts.push(...sameLength(String(from), String(to)));
  }
  if (hi === Infinity) alts.push(`[1-9] [0-9]{${topDigits}} [0-9]*`);
  return alts.length === 1 ? alts[0] : `(${alts.join(' | ')})`;
}

/** EBNF for the integers in [lo, hi] (either may be infinite); empty ranges throw. */
export function integerRange(lo: number, hi: number): string {
  if (lo > hi) throw new RangeError(`the range [${lo}, ${hi}] holds no integer`);
  const alts: string[] = [];
  if (hi >= 0) alts.push(naturalRange(Math.max(lo, 0), hi));
  if (lo < 0) alts.push(`"-" ${naturalRange(Math.max(1, -hi), -lo)}`);
  return alts.length === 1 ? alts[0] : `(${alts.join(' | ')})`;
}

/** Non-negative numbers m with lo <= m <= hi (integer bounds, hi may be Infinity). */
function magnitudeRange(lo: number, hi: number): string {
  const frac = `("." [0-9]{1,${FRACTION_DIGITS}})?`;
  if (hi === Infinity) return `${naturalRange(lo, Infinity)} ${frac}`;
  const alts: string[] = [];
  if (lo <= hi - 1) alts.push(`${naturalRange(lo, hi - 1)} ${frac}`);
  alts.push(`"${hi}" ("." "0"{1,${FRACTION_DIGITS}})?`);
  return alts.length === 1 ? alts[0] : `(${alts.join(' | ')})`;
}

/** EBNF for JSON numbers v with lo <= v <= hi, where lo and hi are integers or infinite. */
export function numberRange(lo: number, hi: number): string {
  if (lo > hi) throw new RangeError(`the range [${lo}, ${hi}] is empty`);
  const alts: string[] = [];
  if (hi >= 0) alts.push(magnitudeRange(Math.max(lo, 0), hi));
  if (lo < 0) alts.push(`"-" ${magnitudeRange(hi < 0 ? -hi : 0, -lo)}`);
  return alts.length === 1 ? alts[0] : `(${alts.join(' | ')})`;
}
