/*
 * A Hugging Face tokenizer.json (+ tokenizer_config.json) as GGUF tokenizer metadata, for files
 * llama.cpp can load: byte-level BPE tokenizers (GPT-2, Llama 3, Qwen2, SmolLM shapes, and the
 * project's own trained ones) become tokenizer.ggml.model = "gpt2" with tokens by id, token
 * types, merges and the llama.cpp pre-tokenizer name of their pre_tokenizer. Ids the tokenizer
 * does not define (a vocabulary padded past the tokenizer) become "[PAD<id>]" unused tokens.
 * SentencePiece-style tokenizers (BPE with byte_fallback) go to ./tokenizer-spm-to-gguf.ts.
 * Refused with a clear error: other tokenizer models (Unigram, WordPiece) and byte-level
 * pre-tokenizers with no llama.cpp name.
 * The inverse of ./tokenizer-from-gguf.ts for what both support.
 */
import { gv } from './metadata';
import { BYTE_LEVEL_PRE, TOKEN_TYPE } from './tokenizer-from-gguf';
import { fillUnusedIds, ggufSpmTokenizerMetadata, isSentencePieceBpe } from './tokenizer-spm-to-gguf';
import type { GgufValue } from './types';

type Json = Record<string, any>;

/** A pre_tokenizer with sorted keys and without trim_offsets (it moves offsets, never ids), for comparison. */
function idShape(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(idShape);
  if (x === null || typeof x !== 'object') return x;
  return Object.fromEntries(Object.keys(x).filter((k) => k !== 'trim_offsets').sort().map((k) => [k, idShape((x as Json)[k])]));
}

/** The llama.cpp pre-tokenizer name of a tokenizer.json pre_tokenizer (up to key order and trim_offsets), or null. */
export function preTokenizerName(pre: unknown): string | null {
  const same = (a: unknown, b: unknown) => JSON.stringify(idShape(a)) === JSON.stringify(idShape(b));
  for (const name of ['gpt-2', 'llama-bpe', 'qwen2', 'smollm']) if (same(pre, BYTE_LEVEL_PRE[name].pre)) return name;
  const p = pre as Json;
  // Byte-level with its own regex (as trainBpe writes it): GPT-2's pattern whatever the trim/prefix flags
  if (p?.type === 'ByteLevel' && p.use_regex !== false && !p.add_prefix_space) return 'gpt-2';
  return null;
}

/** Tokenizer metadata pairs for a vocabulary of `vocabSize` ids. */
export function ggufTokenizerMetadata(tok: Json, tokConfig: Json | null, vocabSize: number, ids: { bos: number | null; eos: number[] }, source: string): Array<[string, GgufValue]> {
  const model = tok.model as Json;
  if (model?.type !== undefined && model.type !== 'BPE') throw new Error(`${source}: tokenizer model ${model?.type} cannot be written as GGUF (expected a byte-level or SentencePiece-style BPE tokenizer)`);
  if (isSentencePieceBpe(tok)) return ggufSpmTokenizerMetadata(tok, tokConfig, vocabSize, ids);
  const pre = preTokenizerName(tok.pre_tokenizer);
  if (!pre) throw new Error(`${source}: the pre_tokenizer ${JSON.stringify(tok.pre_tokenizer)} has no llama.cpp name (expected the GPT-2, Llama 3, Qwen2 or SmolLM byte-level shape)`);
  const tokens: Array<string | undefined> = new Array(vocabSize);
  const types = new Array<number>(vocabSize).fill(TOKEN_TYPE.NORMAL);
  for (const [t, id] of Object.entries(model.vocab as Record<string, number>)) if (id < vocabSize) tokens[id] = t;
  for (const a of (tok.added_tokens ?? []) as Json[]) {
    if (a.id >= vocabSize) continue;
    tokens[a.id] = a.content;
    types[a.id] = a.special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
  }
  fillUnusedIds(tokens, types);
  const merges = ((model.merges ?? []) as Array<string | [string, string]>).map((x) => (typeof x === 'string' ? x : `${x[0]} ${x[1]}`));
  const kv: Array<[string, GgufValue]> = [
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str(pre)],
    ['tokenizer.ggml.tokens', gv.strings(tokens as string[])],
    ['tokenizer.ggml.token_type', gv.i32s(types)],
    ['tokenizer.ggml.merges', gv.strings(merges)],
  ];
  if (ids.bos !== null) kv.push(['tokenizer.ggml.bos_token_id', gv.u32(ids.bos)]);
  if (ids.eos.length > 0) kv.push(['tokenizer.ggml.eos_token_id', gv.u32(ids.eos[0])]);
  kv.push(['tokenizer.ggml.add_bos_token', gv.bool(addsBos(tok, ids.bos))]);
  const template = tokConfig?.chat_template;
  if (typeof template === 'string') kv.push(['tokenizer.chat_template', gv.str(template)]);
  return kv;
}

/** Whether the post-processor puts the BOS id in front of every sequence. */
function addsBos(tok: Json, bos: number | null): boolean {
  const pp = tok.post_processor as Json | null;
  const processors: Json[] = pp?.type === 'Sequence' ? pp.processors : pp ? [pp] : [];
  return processors.some((p) => p.type === 'TemplateProcessing' && p.single?.[0]?.SpecialToken && p.special_tokens?.[p.single[0].SpecialToken.id]?.ids?.[0] === bos);
}
