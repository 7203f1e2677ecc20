/*
 * A regular expression as EBNF: the ECMAScript-style subset that constrained decoding needs.
 * Supported: literals, `.`, classes `[a-z]` / `[^...]`, escapes \d \w \s \D \W \S \n \t \r \f \v
 * \xHH \uHHHH \u{H..} and escaped punctuation, groups `( )` `(?: )` `(?<name> )`, alternation,
 * quantifiers `* + ? {n} {n,} {n,m}` (lazy `?` accepted; it changes nothing for a full match),
 * `^` at the start and `$` at the end. Refused with a GrammarError naming the offset: back
 * references, lookaround, word boundaries, anchors anywhere else.
 *
 * In `json` mode the text is a JSON string's content: `"` and `\` are written escaped, and
 * classes and `.` never produce `"`, `\` or control characters (NOTE: a pattern that needs
 * those characters is narrowed to the rest; what it generates still matches the pattern).
 *
 * What it is not: a regex matcher. The engine runs the EBNF this returns.
 */
import { charClass, literal } from './ebnf-text';
import { GrammarError } from './errors';

type Ranges = Array<[number, number]>;
type Node =
  | { t: 'alt'; of: Node[] }
  | { t: 'seq'; of: Node[] }
  | { t: 'char'; cp: number }
  | { t: 'class'; ranges: Ranges; negated: boolean }
  | { t: 'repeat'; of: Node; min: number; max: number };

const DIGIT: Ranges = [[0x30, 0x39]];
const WORD: Ranges = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const SPACE: Ranges = [[0x09, 0x0d], [0x20, 0x20]];
const MAX_CP = 0x10ffff;
/** Characters a JSON string holds unescaped: not `"`, not `\`, not a control character. */
const JSON_EXCLUDED: Ranges = [[0x00, 0x1f], [0x22, 0x22], [0x5c, 0x5c]];
/** UTF-16 surrogates: code points with no valid UTF-8 spelling, never generated. */
const SURROGATES: Ranges = [[0xd800, 0xdfff]];

export interface RegexOptions {
  /** Emit a JSON string's content (escaped quotes and backslashes). */
  json?: boolean;
  /** Name used in error messages (`pattern`, `guided_regex`). */
  field?: string;
}

export interface ParsedRegex {
  node: Node;
  anchoredStart: boolean;
  anchoredEnd: boolean;
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly field: string,
  ) {}

  fail(what: string): never {
    throw new GrammarError(`${this.field}: ${what} at offset ${this.i} of /${this.src}/`, this.field);
  }

  parse(): ParsedRegex {
    let anchoredStart = false;
    let anchoredEnd = false;
    if (this.src.startsWith('^')) {
      anchoredStart = true;
      this.i = 1;
    }
    const node = this.alternation();
    if (this.src[this.i] === '$' && this.i === this.src.length - 1) {
      anchoredEnd = true;
      this.i++;
    }
    if (this.i < this.src.length) this.fail(this.src[this.i] === ')' ? 'unbalanced ")"' : `unsupported "${this.src[this.i]}"`);
    return { node, anchoredStart, anchoredEnd };
  }

  private alternation(): Node {
    const alts = [this.sequence()];
    while (this.src[this.i] === '|') {
      this.i++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0] : { t: 'alt', of: alts };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length) {
      const c = this.src[this.i];
      if (c === '|' || c === ')') break;
      if (c === '$' && this.i === this.src.length - 1) break;
      items.push(this.quantified(this.atom()));
    }
    return { t: 'seq', of: items };
  }

  private quantified(atom: Node): Node {
    const c = this.src[this.i];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return atom; // a literal "{" as in ECMAScript's annex B
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (max < min) this.fail(`quantifier {${min},${max}} has max < min`);
      this.i += m[0].length - 1;
    } else return atom;
    this.i++;
    if (this.src[this.i] === '?') this.i++; // lazy: the same language
    if ('*+?{'.includes(this.src[this.i] ?? '') && this.src[this.i] !== undefined && this.src[this.i] !== '{') this.fail('nested quantifier');
    return this.quantified({ t: 'repeat', of: atom, min, max });
  }

  private atom(): Node {
    const c = this.src[this.i];
    if (c === '(') return this.group();
    if (c === '[') return this.classAtom();
    if (c === '.') {
      this.i++;
      return { t: 'class', ranges: [[0x0a, 0x0a]], negated: true };
    }
    if (c === '\\') return this.escapeAtom();
    if (c === '^' || c === '$') this.fail(`anchor "${c}" is only supported at the start / end of the pattern`);
    if (c === '*' || c === '+' || c === '?') this.fail(`quantifier "${c}" has nothing to repeat`);
    const cp = this.src.codePointAt(this.i) as number;
    this.i += cp > 0xffff ? 2 : 1;
    return { t: 'char', cp };
  }

  private group(): Node {
    this.i++;
    if (this.src.startsWith('?:', this.i)) this.i += 2;
    else if (this.src.startsWith('?<', this.i) && !/^\?<[=!]/.test(this.src.slice(this.i))) {
      const end = this.src.indexOf('>', this.i);
      if (end < 0) this.fail('unterminated group name');
      this.i = end + 1;
    } else if (this.src[this.i] === '?') this.fail('lookaround groups are not supported');
    const inner = this.alternation();
    if (this.src[this.i] !== ')') this.fail('missing ")"');
    this.i++;
    return inner;
  }

  private classAtom(): Node {
    this.i++;
    let negated = false;
    if (this.src[this.i] === '^') {
      negated = true;
      this.i++;
    }
    const ranges: Ranges = [];
    let first = true;
    while (this.i < this.src.length && (this.src[this.i] !== ']' || first)) {
      first = false;
      const lo = this.classChar(ranges);
      if (lo === null) continue;
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const hi = this.classChar(ranges);
        if (hi === null || hi < lo) this.fail('bad class range');
        ranges.push([lo, hi as number]);
      } else ranges.push([lo, lo]);
    }
    if (this.src[this.i] !== ']') this.fail('missing "]"');
    this.i++;
    return { t: 'class', ranges, negated };
  }

  /** One class member: a code point, or null after adding a shorthand class (\d) to `ranges`. */
  private classChar(ranges: Ranges): number | null {
    if (this.src[this.i] !== '\\') {
      const cp = this.src.codePointAt(this.i) as number;
      this.i += cp > 0xffff ? 2 : 1;
      return cp;
    }
    const e = this.escape();
    if (typeof e === 'number') return e;
    if (e.negated) ranges.push(...complement(e.ranges));
    else ranges.push(...e.ranges);
    return null;
  }

  private escapeAtom(): Node {
    const e = this.escape();
    return typeof e === 'number' ? { t: 'char', cp: e } : { t: 'class', ranges: e.ranges, negated: e.negated };
  }

  private escape(): number | { ranges: Ranges; negated: boolean } {
    this.i++;
    const c = this.src[this.i++];
    if (c === undefined) this.fail('pattern ends with "\\"');
    const shorthand: Record<string, [Ranges, boolean]> = { d: [DIGIT, false], D: [DIGIT, true], w: [WORD, false], W: [WORD, true], s: [SPACE, false], S: [SPACE, true] };
    if (shorthand[c]) return { ranges: shorthand[c][0], negated: shorthand[c][1] };
    const simple: Record<string, number> = { n: 0x0a, t: 0x09, r: 0x0d, f: 0x0c, v: 0x0b, '0': 0 };
    if (c in simple) return simple[c];
    if (c === 'x' || c === 'u') {
      const m = c === 'x' ? /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.i)) : /^(\{[0-9a-fA-F]{1,6}\}|[0-9a-fA-F]{4})/.exec(this.src.slice(this.i));
      if (!m) this.fail(`bad \\${c} escape`);
      this.i += m[0].length;
      return parseInt(m[0].replace(/[{}]/g, ''), 16);
    }
    if (/[1-9]/.test(c)) this.fail('back references are not supported');
    if (c === 'b' || c === 'B') this.fail('word boundaries are not supported');
    if (/[a-zA-Z]/.test(c)) this.fail(`unknown escape "\\${c}"`);
    return c.codePointAt(0) as number;
  }
}

function normalize(r: Ranges): Ranges {
  const s = [...r].sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [a, b] of s) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function complement(r: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (const [a, b] of normalize(r)) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

function subtract(r: Ranges, minus: Ranges): Ranges {
  const keep = complement(minus);
  const out: Ranges = [];
  for (const [a, b] of normalize(r)) for (const [c, d] of keep) if (Math.max(a, c) <= Math.min(b, d)) out.push([Math.max(a, c), Math.min(b, d)]);
  return out;
}

export function parseRegex(pattern: string, field = 'pattern'): ParsedRegex {
  return new Parser(pattern, field).parse();
}

/** Largest number of non-ASCII characters a class may list (each becomes a literal). */
const MAX_LISTED_CHARS = 256;

/**
 * EBNF for a class in the given mode; null when it can match nothing. NOTE: the engine mishandles
 * positive ranges past U+00FF (it admits every byte), so a class is written as an ASCII range
 * class, a negated class that excludes ASCII characters only, or an alternation listing its few
 * non-ASCII characters; anything else is refused.
 */
function classEbnf(ranges: Ranges, negated: boolean, json: boolean): string | null {
  let positive = subtract(negated ? complement(ranges) : normalize(ranges), SURROGATES);
  if (json) positive = subtract(positive, JSON_EXCLUDED);
  if (positive.length === 0) return null;
  const ascii = positive.filter(([a]) => a <= 0x7f).map(([a, b]): [number, number] => [a, Math.min(b, 0x7f)]);
  const high = subtract(positive, [[0x00, 0x7f]]);
  const allHigh = subtract([[0x80, MAX_CP]], SURROGATES);
  const coversAllHigh = subtract(allHigh, high).length === 0;
  if (coversAllHigh) {
    const missing = subtract([[0x00, 0x7f]], ascii);
    return missing.length === 0 ? `(${charClass([[0x00, 0x7f]])} | ${charClass([[0x00, 0x7f]], true)})` : charClass(missing, true);
  }
  const parts: string[] = [];
  if (ascii.length > 0) parts.push(charClass(ascii));
  const count = high.reduce((n, [a, b]) => n + b - a + 1, 0);
  if (count > MAX_LISTED_CHARS) {
    throw new GrammarError(`a character class with ${count} non-ASCII characters is not supported (at most ${MAX_LISTED_CHARS}, or all of them as in [^...] or .)`, 'pattern');
  }
  for (const [a, b] of high) for (let cp = a; cp <= b; cp++) parts.push(literal(String.fromCodePoint(cp)));
  return parts.length === 1 ? parts[0] : `(${parts.join(' | ')})`;
}

function emit(n: Node, json: boolean): string | null {
  switch (n.t) {
    case 'char':
      return literal(json ? JSON.stringify(String.fromCodePoint(n.cp)).slice(1, -1) : String.fromCodePoint(n.cp));
    case 'class':
      return classEbnf(n.ranges, n.negated, json);
    case 'seq': {
      const parts = n.of.map((x) => emit(x, json));
      if (parts.some((p) => p === null)) return null;
      return parts.length === 0 ? '""' : parts.length === 1 ? (parts[0] as string) : `(${parts.join(' ')})`;
    }
    case 'alt': {
      const parts = n.of.map((x) => emit(x, json)).filter((p): p is string => p !== null);
      return parts.length === 0 ? null : `(${parts.join(' | ')})`;
    }
    case 'repeat': {
      const x = emit(n.of, json);
      if (x === null) return n.min === 0 ? '""' : null;
      return repeat(x, n.min, n.max);
    }
  }
}

/** x repeated min..max times (max may be Infinity). */
export function repeat(x: string, min: number, max: number): string {
  if (max === 0) return '""';
  if (max === Infinity) return min === 0 ? `(${x})*` : min === 1 ? `(${x})+` : `(${x}){${min}} (${x})*`;
  if (min === 0 && max === 1) return `(${x})?`;
  if (min === max) return min === 1 ? x : `(${x}){${min}}`;
  return `(${x}){${min},${max}}`;
}

/**
 * EBNF matching the whole text of `pattern` (full match; with `unanchoredSearch`, JSON Schema's
 * "matches anywhere" semantics: any text may come before / after where the pattern has no ^ / $).
 */
export function regexToEbnf(pattern: string, opts: RegexOptions & { unanchoredSearch?: boolean } = {}): string {
  const parsed = parseRegex(pattern, opts.field ?? 'pattern');
  const body = emit(parsed.node, opts.json ?? false);
  if (body === null) throw new GrammarError(`${opts.field ?? 'pattern'}: /${pattern}/ matches no text${opts.json ? ' a JSON string can hold unescaped' : ''}`, opts.field ?? 'pattern');
  if (!opts.unanchoredSearch) return body;
  const any = `(${classEbnf([], true, opts.json ?? false) as string})*`;
  return [parsed.anchoredStart ? '' : any, body, parsed.anchoredEnd ? '' : any].filter(Boolean).join(' ');
}
