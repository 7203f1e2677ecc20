/*
 * tokenizer.json pre-tokenizers: ByteLevel, Metaspace, Split (string or regex, all five
 * behaviors, invert), Digits, Sequence.
 *
 * What it is: each pre-tokenizer as a function from pieces to pieces. ByteLevel only adds
 * the prefix space and (with use_regex) the GPT-2 split: the byte -> char mapping is
 * implicit because byte-level models encode each piece's UTF-8 bytes directly.
 * What it is not: offset tracking; Whitespace/Punctuation/BertPreTokenizer (unsupported,
 * reported by name).
 * Reference: huggingface/tokenizers src/pre_tokenizers/*.rs and
 * src/tokenizer/normalizer.rs (SplitDelimiterBehavior).
 */
import { scannerFor } from '../scanners';
import { RegexSplitter, type PieceSplitter } from '../splitter';
import { GPT2_PATTERN } from '../train';
import { arr, bool, obj, pattern, str, unsupported, type Json } from './fields';

/** Splits pieces further; `first` is true for the segment that starts the input. */
export type PreTokenizer = (pieces: string[], first: boolean) => string[];

export interface BuiltPreTokenizer {
  run: PreTokenizer;
  /** True when a ByteLevel pre-tokenizer is present (the model then works on bytes). */
  byteLevel: boolean;
}

const SUPPORTED = ['ByteLevel', 'Metaspace', 'Split', 'Digits', 'Sequence'];
type Behavior = 'Isolated' | 'Removed' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: readonly Behavior[] = ['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

export function buildPreTokenizer(json: Json, path = 'pre_tokenizer'): BuiltPreTokenizer {
  if (json === null || json === undefined) return { run: (p) => p, byteLevel: false };
  const o = obj(json, path);
  switch (o.type) {
    case 'Sequence': {
      const items = arr(o, 'pretokenizers', path).map((p, i) => buildPreTokenizer(p, `${path}.pretokenizers[${i}]`));
      const at = items.findIndex((p) => p.byteLevel);
      if (at >= 0 && at !== items.length - 1) {
        throw new Error(`tokenizer.json: ${path}: a ByteLevel pre-tokenizer is supported only as the last of a Sequence`);
      }
      return { run: (pieces, first) => items.reduce((acc, p) => p.run(acc, first), pieces), byteLevel: at >= 0 };
    }
    case 'ByteLevel': {
      const prefix = bool(o, 'add_prefix_space', path, true);
      const split = bool(o, 'use_regex', path, true) ? splitterRun(scannerOrRegex(GPT2_PATTERN), 'Isolated', false) : null;
      const run: PreTokenizer = (pieces) => {
        const spaced = prefix ? pieces.map((p) => (p.startsWith(' ') ? p : ' ' + p)) : pieces;
        return split ? split(spaced, true) : spaced;
      };
      return { run, byteLevel: true };
    }
    case 'Metaspace':
      return { run: metaspace(o, path), byteLevel: false };
    case 'Split': {
      const p = pattern(o, path);
      const behavior = str(o, 'behavior', path) as Behavior;
      if (!BEHAVIORS.includes(behavior)) unsupported(`${path}.behavior`, behavior, BEHAVIORS);
      const invert = bool(o, 'invert', path, false);
      const splitter = p.regex ? scannerOrRegex(p.source) : new LiteralSplitter(p.source);
      return { run: splitterRun(splitter, behavior, invert), byteLevel: false };
    }
    case 'Digits': {
      const individual = bool(o, 'individual_digits', path, false);
      return { run: splitterRun(new RegexSplitter('\\p{N}'), individual ? 'Isolated' : 'Contiguous', false), byteLevel: false };
    }
    default:
      return unsupported(path, o.type, SUPPORTED);
  }
}

function scannerOrRegex(source: string): PieceSplitter | RegexSplitter {
  return scannerFor(source) ?? new RegexSplitter(source);
}

/** Matches of a literal string. */
class LiteralSplitter {
  constructor(readonly literal: string) {}
  spans(text: string): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (!this.literal) return out;
    for (let i = text.indexOf(this.literal); i >= 0; i = text.indexOf(this.literal, i + this.literal.length)) {
      out.push([i, i + this.literal.length]);
    }
    return out;
  }
}

interface Spanner {
  spans(text: string): Array<[number, number]>;
}

/** A scanner yields contiguous pieces covering the text: all of them are matches. */
function spansOf(s: PieceSplitter | Spanner, text: string): Array<[number, number]> {
  if ('spans' in s) return s.spans(text);
  const pieces: string[] = [];
  s.split(text, pieces);
  const out: Array<[number, number]> = [];
  let at = 0;
  for (const p of pieces) out.push([at, (at += p.length)]);
  return out;
}

function splitterRun(s: PieceSplitter | Spanner, behavior: Behavior, invert: boolean): PreTokenizer {
  // fast path: isolated matches of a covering scanner are exactly its pieces
  if (!('spans' in s) && behavior === 'Isolated' && !invert) {
    return (pieces) => {
      const out: string[] = [];
      for (const p of pieces) s.split(p, out);
      return out;
    };
  }
  return (pieces) => pieces.flatMap((p) => splitWithBehavior(p, spansOf(s, p), behavior, invert));
}

/** Applies a Split behavior given the match spans of one piece. */
export function splitWithBehavior(text: string, spans: Array<[number, number]>, behavior: Behavior, invert: boolean): string[] {
  const segs: Array<{ s: string; m: boolean }> = [];
  let at = 0;
  for (const [a, b] of spans) {
    if (a > at) segs.push({ s: text.slice(at, a), m: invert });
    segs.push({ s: text.slice(a, b), m: !invert });
    at = b;
  }
  if (at < text.length) segs.push({ s: text.slice(at), m: invert });
  const out: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const { s, m } = segs[i];
    if (behavior === 'Isolated') out.push(s);
    else if (behavior === 'Removed') {
      if (!m) out.push(s);
    } else if (behavior === 'MergedWithPrevious') {
      if (m && out.length > 0 && !segs[i - 1].m) out[out.length - 1] += s;
      else out.push(s);
    } else if (behavior === 'MergedWithNext') {
      if (i > 0 && segs[i - 1].m && !m) out[out.length - 1] += s;
      else out.push(s);
    } else if (m && i > 0 && segs[i - 1].m) out[out.length - 1] += s; // Contiguous
    else out.push(s);
  }
  return out;
}

/** Metaspace: spaces become the replacement char, optional prefix, optional split before each. */
function metaspace(o: Record<string, Json>, path: string): PreTokenizer {
  const replacement = str(o, 'replacement', path);
  const legacyPrefix = o.add_prefix_space;
  const scheme = typeof o.prepend_scheme === 'string' ? o.prepend_scheme : legacyPrefix === false ? 'never' : 'always';
  if (!['always', 'first', 'never'].includes(scheme)) unsupported(`${path}.prepend_scheme`, scheme, ['always', 'first', 'never']);
  const split = bool(o, 'split', path, true);
  return (pieces, first) =>
    pieces.flatMap((p, i) => {
      let s = p.split(' ').join(replacement);
      const prepend = scheme === 'always' || (scheme === 'first' && first && i === 0);
      if (prepend && !s.startsWith(replacement)) s = replacement + s;
      if (!split) return [s];
      const spans: Array<[number, number]> = [];
      for (let i = s.indexOf(replacement); i >= 0; i = s.indexOf(replacement, i + replacement.length)) {
        spans.push([i, i + replacement.length]);
      }
      return splitWithBehavior(s, spans, 'MergedWithNext', false);
    });
}

/**
 * A single scanner equivalent to the whole pre-tokenizer, when it is one of the common
 * byte-level shapes: ByteLevel(use_regex, no prefix space) with the GPT-2 pattern, or
 * Sequence[Split(regex with a scanner, Isolated), ByteLevel(no regex, no prefix space)]
 * (Llama 3, Qwen2). Lets the tokenizer encode spans of the text without piece strings.
 */
export function fastByteLevelSplitter(json: Json): PieceSplitter | null {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
  const noPrefix = (o: Record<string, Json>) => o.type === 'ByteLevel' && o.add_prefix_space === false;
  if (noPrefix(json) && json.use_regex !== false) return scannerFor(GPT2_PATTERN);
  if (json.type !== 'Sequence' || !Array.isArray(json.pretokenizers) || json.pretokenizers.length !== 2) return null;
  const [split, bl] = json.pretokenizers as Array<Record<string, Json>>;
  if (!split || !bl || !noPrefix(bl) || bl.use_regex !== false) return null;
  if (split.type !== 'Split' || split.behavior !== 'Isolated' || split.invert === true) return null;
  const p = split.pattern as Record<string, Json> | null;
  return p && typeof p.Regex === 'string' ? scannerFor(p.Regex) : null;
}
