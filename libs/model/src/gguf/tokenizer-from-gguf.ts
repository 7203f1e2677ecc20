/*
 * A GGUF file's embedded tokenizer as the Hugging Face tokenizer.json and tokenizer_config.json
 * the platform already reads (libs/tokenizer), so one tokenizer implementation serves both:
 *
 *   gpt2   byte-level BPE: tokens (byte-level unicode), merges "a b" in rank order; the
 *          pre-tokenizer regex follows tokenizer.ggml.pre (gpt-2 / default, llama-bpe / llama3,
 *          qwen2, smollm); llama3-style vocabularies emit a whole-token piece unmerged.
 *   llama  SentencePiece BPE: "▁" for spaces with a leading one (add_space_prefix), <0xXX> byte
 *          tokens for unknown characters. The file has scores instead of merges; SentencePiece
 *          merges the adjacent pair whose concatenation scores highest, which is BPE with every
 *          split (a, b) of a vocabulary piece ranked by the piece's score (ties: lower id).
 *   token_type: 3 control -> special added token, 4 user defined -> added token (not special).
 *   tokenizer.chat_template, bos/eos/unknown ids -> tokenizer_config.json.
 * Refused with a clear error: other tokenizer models and pre-tokenizer names.
 * Follows ggml docs/gguf.md ("Tokenizer").
 */
import { GgufMeta } from './metadata';
import { GgufError } from './types';

const GPT2_REGEX_BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const splitThenBytes = (pattern: string) => ({
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
});

/** tokenizer.ggml.pre -> the tokenizer.json pre_tokenizer it stands for, and whether whole-token pieces skip merges. */
export const BYTE_LEVEL_PRE: Record<string, { pre: unknown; ignoreMerges: boolean }> = {
  'gpt-2': { pre: GPT2_REGEX_BYTE_LEVEL, ignoreMerges: false },
  default: { pre: GPT2_REGEX_BYTE_LEVEL, ignoreMerges: false },
  'llama-bpe': { pre: splitThenBytes(LLAMA3_PATTERN), ignoreMerges: true },
  llama3: { pre: splitThenBytes(LLAMA3_PATTERN), ignoreMerges: true },
  qwen2: { pre: splitThenBytes(QWEN2_PATTERN), ignoreMerges: false },
  smollm: { pre: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, GPT2_REGEX_BYTE_LEVEL] }, ignoreMerges: false },
};

export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface EmbeddedTokenizer {
  /** tokenizer.json content. */
  tokenizerJson: Record<string, unknown>;
  /** tokenizer_config.json content (special token names, chat template). */
  tokenizerConfig: Record<string, unknown>;
}

function addedTokens(tokens: string[], types: number[] | null) {
  if (!types) return [];
  return tokens.flatMap((content, id) =>
    types[id] === TOKEN_TYPE.CONTROL || types[id] === TOKEN_TYPE.USER_DEFINED || types[id] === TOKEN_TYPE.UNKNOWN
      ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: types[id] === TOKEN_TYPE.USER_DEFINED, special: types[id] !== TOKEN_TYPE.USER_DEFINED }]
      : [],
  );
}

function bosTemplate(tokens: string[], bos: number | null, addBos: boolean): unknown {
  if (!addBos || bos === null) return null;
  const name = tokens[bos];
  return { type: 'TemplateProcessing', single: [{ SpecialToken: { id: name, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { [name]: { id: name, ids: [bos], tokens: [name] } } };
}

/** The tokenizer a GGUF file embeds, or null when it has none. */
export function tokenizerFromGguf(m: GgufMeta): EmbeddedTokenizer | null {
  const model = m.optStr('tokenizer.ggml.model');
  if (model === null) return null;
  const tokens = m.strings('tokenizer.ggml.tokens', 'required with tokenizer.ggml.model');
  const types = m.has('tokenizer.ggml.token_type') ? m.numbers('tokenizer.ggml.token_type') : null;
  if (types && types.length !== tokens.length) throw new GgufError(`${m.source}: tokenizer.ggml.token_type has ${types.length} entries for ${tokens.length} tokens`);
  const bos = m.optUint('tokenizer.ggml.bos_token_id'), eos = m.optUint('tokenizer.ggml.eos_token_id'), unk = m.optUint('tokenizer.ggml.unknown_token_id');
  for (const [key, id] of [['bos', bos], ['eos', eos], ['unknown', unk]] as const) {
    if (id !== null && id >= tokens.length) throw new GgufError(`${m.source}: tokenizer.ggml.${key}_token_id ${id} is not a token id (${tokens.length} tokens)`);
  }
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => {
    if (!(t in vocab)) vocab[t] = id;
  });
  let json: Record<string, unknown>;
  if (model === 'gpt2') json = byteLevel(m, tokens, vocab, types, bos);
  else if (model === 'llama') json = sentencePiece(m, tokens, vocab, types, bos, unk);
  else throw new GgufError(`${m.source}: tokenizer.ggml.model "${model}" is not supported (expected gpt2 or llama)`);
  const name = (id: number | null) => (id === null ? null : tokens[id]);
  const tokenizerConfig: Record<string, unknown> = { bos_token: name(bos), eos_token: name(eos), unk_token: name(unk), chat_template: m.optStr('tokenizer.chat_template') };
  return { tokenizerJson: { version: '1.0', truncation: null, padding: null, added_tokens: addedTokens(tokens, types), ...json }, tokenizerConfig };
}

function byteLevel(m: GgufMeta, tokens: string[], vocab: Record<string, number>, types: number[] | null, bos: number | null): Record<string, unknown> {
  const preName = m.optStr('tokenizer.ggml.pre') ?? 'default';
  const pre = BYTE_LEVEL_PRE[preName];
  if (!pre) throw new GgufError(`${m.source}: tokenizer.ggml.pre "${preName}" is not supported (expected one of ${Object.keys(BYTE_LEVEL_PRE).join(', ')})`);
  const merges = m.has('tokenizer.ggml.merges') ? m.strings('tokenizer.ggml.merges') : [];
  return {
    normalizer: null,
    pre_tokenizer: pre.pre,
    post_processor: bosTemplate(tokens, bos, m.optBool('tokenizer.ggml.add_bos_token') ?? false),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: pre.ignoreMerges, vocab, merges },
  };
}

function sentencePiece(m: GgufMeta, tokens: string[], vocab: Record<string, number>, types: number[] | null, bos: number | null, unk: number | null): Record<string, unknown> {
  const scores = m.has('tokenizer.ggml.scores') ? m.numbers('tokenizer.ggml.scores') : null;
  if (scores && scores.length !== tokens.length) throw new GgufError(`${m.source}: tokenizer.ggml.scores has ${scores.length} entries for ${tokens.length} tokens`);
  const mergeable = (id: number) => !types || types[id] === TOKEN_TYPE.NORMAL || types[id] === TOKEN_TYPE.USER_DEFINED;
  const merges: Array<{ l: string; r: string; score: number; id: number; lid: number }> = [];
  tokens.forEach((t, id) => {
    if (!mergeable(id) || vocab[t] !== id) return;
    const chars = [...t];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join(''), r = chars.slice(k).join('');
      if (l in vocab && r in vocab) merges.push({ l, r, score: scores ? scores[id] : -id, id, lid: vocab[l] });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.id - b.id || a.lid - b.lid);
  const prefix = m.optBool('tokenizer.ggml.add_space_prefix') ?? true;
  const space = { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' };
  return {
    normalizer: prefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, space] } : space,
    pre_tokenizer: null,
    post_processor: bosTemplate(tokens, bos, m.optBool('tokenizer.ggml.add_bos_token') ?? true),
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : [])],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: unk === null ? null : tokens[unk], continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: merges.map((x) => [x.l, x.r]),
    },
  };
}
