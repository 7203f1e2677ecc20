/*
 * A GGUF file's embedded tokenizer as the Hugging Face tokenizer.json and tokenizer_config.json
 * the platform already reads (libs/tokenizer), so one tokenizer implementation serves both:
 *
 *   gpt2   byte-level BPE: tokens (byte-level unicode), merges "a b" in rank order; the
 *          pre-tokenizer regexes follow tokenizer.ggml.pre as llama.cpp splits them (gpt-2,
 *          default -- also a missing pre: punctuation runs, GPT-2's pattern, digit runs, then
 *          groups of three digits --, llama-bpe / llama3, qwen2, smollm, and llama.cpp's other
 *          names for these splits, e.g. falcon3, deepseek-r1-qwen, starcoder); llama3-style
 *          vocabularies emit a whole-token piece unmerged and add BOS unless the file says not.
 *   llama  SentencePiece BPE: "▁" for spaces with a leading one (add_space_prefix), <0xXX> byte
 *          tokens for unknown characters. The file has scores instead of merges; SentencePiece
 *          merges the adjacent pair whose concatenation scores highest, which is BPE with every
 *          split (a, b) of a vocabulary piece ranked by the piece's score (ties: lower id;
 *          llama.cpp takes the leftmost pair instead, which differs only where two different
 *          pieces share a score and compete in one word).
 *   token_type: 3 control -> special added token, 4 user defined -> added token (not special).
 *   add_bos_token / add_eos_token -> the post-processor (BOS in front, EOS at the end);
 *   tokenizer.chat_template, bos/eos/unknown/padding ids -> tokenizer_config.json. A "llama"
 *   vocabulary without bos/eos/unknown ids uses llama.cpp's defaults 1 / 2 / 0.
 *   tokenizer.ggml.model "none" / "no_vocab": a file without a vocabulary (null).
 * Refused with a clear error: other tokenizer models and pre-tokenizer names.
 * Follows ggml docs/gguf.md ("Tokenizer").
 */
import { GgufMeta } from './metadata';
import { GgufError } from './types';

const GPT2_REGEX_BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
/** llama.cpp's default split (also used when tokenizer.ggml.pre is missing): each regex splits the pieces of the one before. */
const DEFAULT_PATTERNS = ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2_PATTERN, '\\p{N}+', '[0-9][0-9][0-9]'];
const splitThenBytes = (...patterns: string[]) => ({
  type: 'Sequence',
  pretokenizers: [
    ...patterns.map((pattern) => ({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false })),
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
});

/**
 * tokenizer.ggml.pre -> the tokenizer.json pre_tokenizer it stands for, whether whole-token
 * pieces skip merges, and whether BOS is added when the file has no add_bos_token (llama-vocab.cpp).
 */
export const BYTE_LEVEL_PRE: Record<string, { pre: unknown; ignoreMerges: boolean; addBos: boolean }> = {
  'gpt-2': { pre: GPT2_REGEX_BYTE_LEVEL, ignoreMerges: false, addBos: false },
  default: { pre: splitThenBytes(...DEFAULT_PATTERNS), ignoreMerges: false, addBos: false },
  'llama-bpe': { pre: splitThenBytes(LLAMA3_PATTERN), ignoreMerges: true, addBos: true },
  llama3: { pre: splitThenBytes(LLAMA3_PATTERN), ignoreMerges: true, addBos: true },
  qwen2: { pre: splitThenBytes(QWEN2_PATTERN), ignoreMerges: false, addBos: false },
  smollm: { pre: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, GPT2_REGEX_BYTE_LEVEL] }, ignoreMerges: false, addBos: false },
};
/** Other tokenizer.ggml.pre names llama.cpp gives the same split (llama-vocab.cpp), for llama-family files. */
export const PRE_ALIASES: Record<string, string> = {
  'llama-v3': 'llama-bpe', falcon3: 'llama-bpe', 'deepseek-r1-qwen': 'qwen2',
  starcoder: 'smollm', refact: 'smollm', codeshell: 'smollm', 'phi-2': 'gpt-2',
};
/** llama.cpp's default special-token ids of a "llama" vocabulary whose file names none. */
const SPM_DEFAULT_IDS = { bos: 1, eos: 2, unk: 0 };
const NO_VOCAB = ['none', 'no_vocab'];

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

interface Specials {
  bos: number | null;
  eos: number | null;
  addEos: boolean;
}

/** The post-processor: BOS in front when added, EOS at the end when added (a missing id adds nothing). */
function specialTemplate(tokens: string[], s: Specials, addBos: boolean): unknown {
  const front = addBos && s.bos !== null ? [s.bos] : [];
  const back = s.addEos && s.eos !== null ? [s.eos] : [];
  if (front.length + back.length === 0) return null;
  const piece = (id: number) => ({ SpecialToken: { id: tokens[id], type_id: 0 } });
  const specials = Object.fromEntries([...front, ...back].map((id) => [tokens[id], { id: tokens[id], ids: [id], tokens: [tokens[id]] }]));
  return { type: 'TemplateProcessing', single: [...front.map(piece), { Sequence: { id: 'A', type_id: 0 } }, ...back.map(piece)], pair: [], special_tokens: specials };
}

/** The tokenizer a GGUF file embeds, or null when it has none. */
export function tokenizerFromGguf(m: GgufMeta): EmbeddedTokenizer | null {
  const model = m.optStr('tokenizer.ggml.model');
  if (model === null || NO_VOCAB.includes(model)) return null;
  const tokens = m.strings('tokenizer.ggml.tokens', 'required with tokenizer.ggml.model');
  const types = m.has('tokenizer.ggml.token_type') ? m.numbers('tokenizer.ggml.token_type') : null;
  if (types && types.length !== tokens.length) throw new GgufError(`${m.source}: tokenizer.ggml.token_type has ${types.length} entries for ${tokens.length} tokens`);
  const ids = { bos: m.optUint('tokenizer.ggml.bos_token_id'), eos: m.optUint('tokenizer.ggml.eos_token_id'), unk: m.optUint('tokenizer.ggml.unknown_token_id'), pad: m.optUint('tokenizer.ggml.padding_token_id') };
  for (const [key, id] of [['bos', ids.bos], ['eos', ids.eos], ['unknown', ids.unk], ['padding', ids.pad]] as const) {
    if (id !== null && id >= tokens.length) throw new GgufError(`${m.source}: tokenizer.ggml.${key}_token_id ${id} is not a token id (${tokens.length} tokens)`);
  }
  if (model === 'llama') {
    for (const k of ['bos', 'eos', 'unk'] as const) if (ids[k] === null && SPM_DEFAULT_IDS[k] < tokens.length) ids[k] = SPM_DEFAULT_IDS[k];
  }
  const { bos, eos, unk } = ids;
  const specials: Specials = { bos, eos, addEos: m.optBool('tokenizer.ggml.add_eos_token') ?? false };
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => {
    if (!(t in vocab)) vocab[t] = id;
  });
  let json: Record<string, unknown>;
  if (model === 'gpt2') json = byteLevel(m, tokens, vocab, specials);
  else if (model === 'llama') json = sentencePiece(m, tokens, vocab, types, specials, unk);
  else throw new GgufError(`${m.source}: tokenizer.ggml.model "${model}" is not supported (expected gpt2, llama, or none)`);
  const name = (id: number | null) => (id === null ? null : tokens[id]);
  const tokenizerConfig: Record<string, unknown> = { bos_token: name(bos), eos_token: name(eos), unk_token: name(unk), pad_token: name(ids.pad), chat_template: m.optStr('tokenizer.chat_template') };
  return { tokenizerJson: { version: '1.0', truncation: null, padding: null, added_tokens: addedTokens(tokens, types), ...json }, tokenizerConfig };
}

function byteLevel(m: GgufMeta, tokens: string[], vocab: Record<string, number>, specials: Specials): Record<string, unknown> {
  const preName = m.optStr('tokenizer.ggml.pre') ?? 'default';
  const pre = BYTE_LEVEL_PRE[PRE_ALIASES[preName] ?? preName];
  if (!pre) throw new GgufError(`${m.source}: tokenizer.ggml.pre "${preName}" is not supported (expected one of ${Object.keys(BYTE_LEVEL_PRE).join(', ')}), or llama.cpp's other names for them: ${Object.keys(PRE_ALIASES).join(', ')}`);
  const merges = m.has('tokenizer.ggml.merges') ? m.strings('tokenizer.ggml.merges') : [];
  return {
    normalizer: null,
    pre_tokenizer: pre.pre,
    post_processor: specialTemplate(tokens, specials, m.optBool('tokenizer.ggml.add_bos_token') ?? pre.addBos),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: pre.ignoreMerges, vocab, merges },
  };
}

function sentencePiece(m: GgufMeta, tokens: string[], vocab: Record<string, number>, types: number[] | null, specials: Specials, unk: number | null): Record<string, unknown> {
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
    post_processor: specialTemplate(tokens, specials, m.optBool('tokenizer.ggml.add_bos_token') ?? true),
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
