/*
 * tokenizer.json normalizers: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Sequence.
 *
 * What it is: each normalizer as a string -> string function, built from its JSON.
 * What it is not: offset tracking (the platform needs ids, not alignments).
 * Reference: huggingface/tokenizers src/normalizers/*.rs.
 */
import { compileSplitPattern } from '../regex';
import { obj, pattern, str, arr, unsupported, type Json } from './fields';

export type Normalizer = (s: string) => string;

const SUPPORTED = ['NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'Prepend', 'Replace', 'Sequence'];

export function buildNormalizer(json: Json, path = 'normalizer'): Normalizer | null {
  if (json === null || json === undefined) return null;
  const o = obj(json, path);
  switch (o.type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = o.type;
      return (s) => s.normalize(form);
    }
    case 'Lowercase':
      return (s) => s.toLowerCase();
    case 'Prepend': {
      // prepends to any non-empty string
      const prefix = str(o, 'prepend', path);
      return (s) => (s.length > 0 ? prefix + s : s);
    }
    case 'Replace':
      return replacer(o, path);
    case 'Sequence': {
      const parts = arr(o, 'normalizers', path).map((n, i) => buildNormalizer(n, `${path}.normalizers[${i}]`));
      const fns = parts.filter((f): f is Normalizer => f !== null);
      return (s) => fns.reduce((acc, f) => f(acc), s);
    }
    default:
      return unsupported(path, o.type, SUPPORTED);
  }
}

/** Replace: every occurrence of a literal string or a regex becomes `content`. */
export function replacer(o: Record<string, Json>, path: string): (s: string) => string {
  const p = pattern(o, path);
  const content = str(o, 'content', path);
  if (!p.regex) return (s) => (p.source.length === 0 ? s : s.split(p.source).join(content));
  const re = compileSplitPattern(p.source);
  return (s) => s.replace(re, () => content);
}
