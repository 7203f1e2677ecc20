/*
 * tokenizer.json post-processors: TemplateProcessing (BOS/EOS around the sequence),
 * ByteLevel (ids unchanged), Sequence.
 *
 * What it is: the single-sequence template applied to ids when addSpecialTokens is on.
 * What it is not: pair templates (the platform encodes one sequence at a time), offsets,
 * Bert/Roberta processors (reported as unsupported).
 * Reference: huggingface/tokenizers src/processors/template.rs.
 */
import { arr, obj, str, TokenizerJsonError, unsupported, type Json } from './fields';

export type PostProcessor = (ids: number[]) => number[];

const SUPPORTED = ['TemplateProcessing', 'ByteLevel', 'Sequence'];

export function buildPostProcessor(json: Json, path = 'post_processor'): PostProcessor | null {
  if (json === null || json === undefined) return null;
  const o = obj(json, path);
  switch (o.type) {
    case 'ByteLevel':
      return null;
    case 'Sequence': {
      const fns = arr(o, 'processors', path)
        .map((p, i) => buildPostProcessor(p, `${path}.processors[${i}]`))
        .filter((p): p is PostProcessor => p !== null);
      return fns.length === 0 ? null : (ids) => fns.reduce((acc, f) => f(acc), ids);
    }
    case 'TemplateProcessing':
      return template(o, path);
    default:
      return unsupported(path, o.type, SUPPORTED);
  }
}

function template(o: Record<string, Json>, path: string): PostProcessor {
  const specials = obj(o.special_tokens ?? {}, `${path}.special_tokens`);
  const idsOf = (name: string, where: string): number[] => {
    const entry = specials[name];
    if (entry === undefined) throw new TokenizerJsonError(`${path}.special_tokens[${JSON.stringify(name)}]`, `defined (used by ${where})`);
    const ids = arr(obj(entry, `${path}.special_tokens[${JSON.stringify(name)}]`), 'ids', `${path}.special_tokens[${JSON.stringify(name)}]`);
    if (!ids.every((x) => typeof x === 'number')) throw new TokenizerJsonError(`${path}.special_tokens[${JSON.stringify(name)}].ids`, 'an array of ids', ids);
    return ids as number[];
  };
  const pieces = arr(o, 'single', path).map((item, i) => {
    const where = `${path}.single[${i}]`;
    const it = obj(item, where);
    if (it.SpecialToken !== undefined) return { ids: idsOf(str(obj(it.SpecialToken, where), 'id', `${where}.SpecialToken`), where) };
    if (it.Sequence !== undefined) return { ids: null };
    throw new TokenizerJsonError(where, '{"SpecialToken": ...} or {"Sequence": ...}', it);
  });
  return (ids) => pieces.flatMap((p) => p.ids ?? ids);
}
