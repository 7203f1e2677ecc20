/*
 * @llm/tokenizer/testing: helpers for tests that need unusual but valid tokenizer.json files.
 * trimByteLevelVocab keeps only the vocabulary tokens whose bytes all pass `keep` (with their
 * ids, so the ids a model samples still mean the same tokens), the merges among them, and the
 * added tokens (also written into model.vocab, as Hugging Face trainers do).
 * What it is not: a tokenizer editor for production files.
 */
import { byteLevelToBytes } from '../bytes';

type Json = Record<string, any>;

/** Printable ASCII: 0x20 (space) .. 0x7e (~). */
export const isPrintableAscii = (b: number): boolean => b >= 0x20 && b <= 0x7e;

/** A copy of a byte-level tokenizer.json without the tokens that hold a byte `keep` refuses. */
export function trimByteLevelVocab(json: Json, keep: (byte: number) => boolean = isPrintableAscii): Json {
  const out = structuredClone(json);
  const kept = (t: string) => {
    const b = byteLevelToBytes(t);
    return b !== null && b.every(keep);
  };
  const vocab: Record<string, number> = {};
  for (const [t, id] of Object.entries(out.model.vocab as Record<string, number>)) if (kept(t)) vocab[t] = id;
  for (const a of (out.added_tokens ?? []) as Array<{ content: string; id: number }>) vocab[a.content] = a.id;
  out.model.vocab = vocab;
  out.model.merges = (out.model.merges as Array<string | [string, string]>).filter((m) => {
    const sp = typeof m === 'string' ? m.indexOf(' ', 1) : -1;
    const [a, b] = typeof m === 'string' ? [m.slice(0, sp), m.slice(sp + 1)] : m;
    return a in vocab && b in vocab && a + b in vocab;
  });
  return out;
}
