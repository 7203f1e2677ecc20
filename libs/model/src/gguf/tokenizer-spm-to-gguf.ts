/*
 * A SentencePiece-style Hugging Face tokenizer.json (BPE over "▁"-spaced text with byte_fallback,
 * as Llama 2, TinyLlama and Mistral ship it, and as ./tokenizer-from-gguf.ts builds from a GGUF
 * "llama" vocabulary) as GGUF tokenizer metadata llama.cpp loads as its SPM vocabulary:
 *
 *   tokenizer.ggml.model "llama", tokens by id, scores, token_type (<0xXX> byte pieces BYTE,
 *   the unknown piece UNKNOWN, special added tokens CONTROL, other added tokens USER_DEFINED,
 *   ids past the tokenizer UNUSED "[PAD<id>]"), bos / eos / unknown ids, add_bos_token /
 *   add_eos_token from the post-processor, add_space_prefix from the normalizer (Prepend "▁")
 *   or a Metaspace pre-tokenizer.
 *
 * Scores: llama.cpp's SPM tokenizer merges the adjacent pair whose concatenation has the highest
 * score; the tokenizer.json merges in rank order, so the piece the merge of rank r produces
 * first scores -(r + 1) and pieces no merge produces (characters, bytes, specials) score 0,
 * which never compete (a single character is no pair's concatenation).
 * Not here: byte-level vocabularies (./tokenizer-to-gguf.ts), Unigram models.
 */
import { gv } from './metadata';
import { TOKEN_TYPE } from './tokenizer-from-gguf';
import type { GgufValue } from './types';

type Json = Record<string, any>;
const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

/**
 * Ids the tokenizer does not define (a vocabulary padded past it) become unused "[PAD<id>]" tokens,
 * and so does every id whose text another id also has: llama.cpp's vocabulary loader asserts that
 * every token text is unique and aborts otherwise. The added (non-normal) token keeps the text, else
 * the lower id -- as llama.cpp's converter resolves it ({**vocab, **added_vocab} by text).
 */
export function fillUnusedIds(tokens: Array<string | undefined>, types: number[]): void {
  const owner = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (t === undefined) return;
    const prev = owner.get(t);
    if (prev === undefined || (types[prev] === TOKEN_TYPE.NORMAL && types[id] !== TOKEN_TYPE.NORMAL)) owner.set(t, id);
  });
  for (let id = 0; id < tokens.length; id++) {
    if (tokens[id] !== undefined && owner.get(tokens[id]!) === id) continue;
    tokens[id] = `[PAD${id}]`;
    types[id] = TOKEN_TYPE.UNUSED;
  }
}

/** Whether the tokenizer.json is SentencePiece-style (BPE with byte fallback). */
export const isSentencePieceBpe = (tok: Json): boolean => tok.model?.type === 'BPE' && tok.model?.byte_fallback === true;

/** Whether the tokenizer puts "▁" in front of the text (llama.cpp's add_space_prefix). */
function addsSpacePrefix(tok: Json): boolean {
  const norms: Json[] = tok.normalizer?.type === 'Sequence' ? tok.normalizer.normalizers : tok.normalizer ? [tok.normalizer] : [];
  if (norms.some((n) => n.type === 'Prepend' && n.prepend === '\u2581')) return true;
  const pres: Json[] = tok.pre_tokenizer?.type === 'Sequence' ? tok.pre_tokenizer.pretokenizers : tok.pre_tokenizer ? [tok.pre_tokenizer] : [];
  return pres.some((p) => p.type === 'Metaspace' && (p.prepend_scheme ? p.prepend_scheme !== 'never' : p.add_prefix_space !== false));
}

/** The ids the post-processor's single template puts before and after the sequence. */
function templateIds(tok: Json): { front: number[]; back: number[] } {
  const pp = tok.post_processor as Json | null;
  const t = (pp?.type === 'Sequence' ? (pp.processors as Json[]) : pp ? [pp] : []).find((p) => p.type === 'TemplateProcessing');
  const out = { front: [] as number[], back: [] as number[] };
  if (!t) return out;
  let seen = false;
  for (const item of t.single as Json[]) {
    if (item.Sequence) seen = true;
    else if (item.SpecialToken) (seen ? out.back : out.front).push(...((t.special_tokens?.[item.SpecialToken.id]?.ids as number[]) ?? []));
  }
  return out;
}

/** Tokenizer metadata pairs (llama SPM vocabulary) for a vocabulary of `vocabSize` ids. */
export function ggufSpmTokenizerMetadata(tok: Json, tokConfig: Json | null, vocabSize: number, ids: { bos: number | null; eos: number[] }): Array<[string, GgufValue]> {
  const model = tok.model as Json;
  const tokens: Array<string | undefined> = new Array(vocabSize);
  const types = new Array<number>(vocabSize).fill(TOKEN_TYPE.NORMAL);
  const scores = new Array<number>(vocabSize).fill(0);
  const vocab = model.vocab as Record<string, number>;
  for (const [t, id] of Object.entries(vocab)) {
    if (id >= vocabSize) continue;
    tokens[id] = t;
    if (BYTE_PIECE.test(t)) types[id] = TOKEN_TYPE.BYTE;
  }
  const unk = typeof model.unk_token === 'string' && model.unk_token in vocab ? vocab[model.unk_token] : null;
  if (unk !== null && unk < vocabSize) types[unk] = TOKEN_TYPE.UNKNOWN;
  const merges = ((model.merges ?? []) as Array<string | [string, string]>).map((x) => (typeof x === 'string' ? x.split(' ') : x));
  const scored = new Set<number>();
  merges.forEach(([l, r], rank) => {
    const id = vocab[l + r];
    if (id === undefined || id >= vocabSize || scored.has(id)) return;
    scored.add(id);
    scores[id] = -(rank + 1);
  });
  for (const a of (tok.added_tokens ?? []) as Json[]) {
    if (a.id >= vocabSize || a.id === unk) continue;
    tokens[a.id] = a.content;
    types[a.id] = a.special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
  }
  fillUnusedIds(tokens, types);
  const { front, back } = templateIds(tok);
  const bos = ids.bos ?? front[0] ?? null;
  const eos = ids.eos[0] ?? back[0] ?? null;
  const kv: Array<[string, GgufValue]> = [
    ['tokenizer.ggml.model', gv.str('llama')],
    ['tokenizer.ggml.tokens', gv.strings(tokens as string[])],
    ['tokenizer.ggml.scores', gv.f32s(scores)],
    ['tokenizer.ggml.token_type', gv.i32s(types)],
  ];
  if (bos !== null) kv.push(['tokenizer.ggml.bos_token_id', gv.u32(bos)]);
  if (eos !== null) kv.push(['tokenizer.ggml.eos_token_id', gv.u32(eos)]);
  if (unk !== null) kv.push(['tokenizer.ggml.unknown_token_id', gv.u32(unk)]);
  kv.push(
    ['tokenizer.ggml.add_bos_token', gv.bool(bos !== null && front[0] === bos)],
    ['tokenizer.ggml.add_eos_token', gv.bool(eos !== null && back[back.length - 1] === eos)],
    ['tokenizer.ggml.add_space_prefix', gv.bool(addsSpacePrefix(tok))],
  );
  const template = tokConfig?.chat_template;
  if (typeof template === 'string') kv.push(['tokenizer.chat_template', gv.str(template)]);
  return kv;
}
