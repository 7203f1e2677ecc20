/*
 * Special-token policy shared by all tokenizers: which specials are allowed, which are
 * disallowed (an error when present), and splitting text around allowed ones.
 *
 * What it is: tiktoken's allowed_special / disallowed_special semantics, plus a splitter
 * that finds the leftmost (then longest) special token occurrence.
 * What it is not: encoding of the ordinary text between specials.
 * Reference: openai/tiktoken tiktoken/core.py Encoding.encode.
 */
import { TokenizerError } from './errors';
import type { SpecialSet } from './types';

/** A piece of text between specials, or an allowed special token. */
export interface Segment {
  text: string;
  /** Id of the special token, or -1 for ordinary text. */
  special: number;
}

function toSet(set: SpecialSet, all: ReadonlyMap<string, number>): Set<string> {
  return set === 'all' ? new Set(all.keys()) : new Set(set);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const regexCache = new Map<string, RegExp | null>();

/** Builds (or reuses) a regex matching any of `tokens`, longest first at each position. */
export function specialRegex(tokens: Iterable<string>): RegExp | null {
  const list = [...tokens].filter((t) => t.length > 0).sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  const key = list.join('\u0000');
  let re = regexCache.get(key);
  if (re === undefined) {
    re = list.length === 0 ? null : new RegExp(list.map(escapeRegExp).join('|'), 'g');
    if (regexCache.size >= 64) regexCache.clear();
    regexCache.set(key, re);
  }
  if (re) re.lastIndex = 0;
  return re;
}

/**
 * Resolves the allowed set and throws if the text contains a disallowed special token.
 * `defaultAllowed` is what an omitted allowedSpecial means for this tokenizer.
 */
export function resolveSpecial(
  text: string,
  specials: ReadonlyMap<string, number>,
  allowedSpecial: SpecialSet | undefined,
  disallowedSpecial: SpecialSet | undefined,
  defaultAllowed: SpecialSet,
): Set<string> {
  const allowed = toSet(allowedSpecial ?? defaultAllowed, specials);
  for (const t of allowed) {
    if (!specials.has(t)) throw new TokenizerError(`allowedSpecial: ${JSON.stringify(t)} is not a special token of this tokenizer`);
  }
  let disallowed: Set<string>;
  if (disallowedSpecial === undefined || disallowedSpecial === 'all') {
    disallowed = new Set([...specials.keys()].filter((t) => !allowed.has(t)));
  } else {
    disallowed = new Set(disallowedSpecial);
  }
  if (disallowed.size > 0) {
    const re = specialRegex(disallowed);
    const m = re ? re.exec(text) : null;
    if (m) {
      throw new TokenizerError(
        `text contains the disallowed special token ${JSON.stringify(m[0])} at offset ${m.index}; ` +
          'pass it in allowedSpecial to encode it as a special token, or disallowedSpecial: [] to encode it as plain text',
      );
    }
  }
  return allowed;
}

/** Splits text into ordinary segments and allowed special tokens. */
export function splitOnSpecials(text: string, allowed: ReadonlySet<string>, specials: ReadonlyMap<string, number>): Segment[] {
  const re = specialRegex(allowed);
  if (!re) return [{ text, special: -1 }];
  const out: Segment[] = [];
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push({ text: text.slice(last, m.index), special: -1 });
    out.push({ text: m[0], special: specials.get(m[0]) as number });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), special: -1 });
  return out;
}
