/*
 * The embedded tokenizer against llama.cpp's loading conventions (llama-vocab.cpp), on small
 * vocabularies written out below, with the expected ids worked out by hand:
 *   - tokenizer.ggml.pre "default" (and a missing pre) is llama.cpp's default split: punctuation
 *     runs, then GPT-2's pattern, then digit runs, then groups of three digits -- not GPT-2's
 *     pattern alone;
 *   - llama-bpe / llama3 add BOS when the file has no add_bos_token; add_eos_token appends EOS;
 *   - a "llama" (SentencePiece) vocabulary without bos / eos / unknown ids uses 1 / 2 / 0;
 *   - tokenizer.ggml.model "none" / "no_vocab" is a file without a vocabulary, not an error;
 *   - padding_token_id names the pad token.
 */
import { loadTokenizerJson } from '@llm/tokenizer';
import { GgufMeta, gv } from './metadata';
import { tokenizerFromGguf } from './tokenizer-from-gguf';
import { preTokenizerName } from './tokenizer-to-gguf';
import type { GgufValue } from './types';

// byte-level pieces: "Ġ" is the space byte
const GPT2_TOKENS = ['<s>', '</s>', 'Ġ', '!', '1', '2', '3', '4', '5', 'Ġ!', '12', '34', '123', '45', 'a'];
const GPT2_MERGES = ['Ġ !', '1 2', '3 4', '12 3', '4 5'];

function gpt2(extra: Array<[string, GgufValue]> = []): GgufMeta {
  return new GgufMeta(
    new Map<string, GgufValue>([
      ['tokenizer.ggml.model', gv.str('gpt2')],
      ['tokenizer.ggml.tokens', gv.strings(GPT2_TOKENS)],
      ['tokenizer.ggml.token_type', gv.i32s(GPT2_TOKENS.map((_, i) => (i < 2 ? 3 : 1)))],
      ['tokenizer.ggml.merges', gv.strings(GPT2_MERGES)],
      ['tokenizer.ggml.bos_token_id', gv.u32(0)],
      ['tokenizer.ggml.eos_token_id', gv.u32(1)],
      ...extra,
    ]),
    'gpt2.gguf',
  );
}
const encoder = (m: GgufMeta) => loadTokenizerJson(tokenizerFromGguf(m)!.tokenizerJson as object);

describe('byte-level pre-tokenizers as llama.cpp splits them', () => {
  it('gpt-2: one piece per digit run and " !" together', () => {
    const t = encoder(gpt2([['tokenizer.ggml.pre', gv.str('gpt-2')]]));
    // "12345" is one piece: 1 2 3 4 5 -> "1 2" (rank 1) -> 12 3 4 5 -> "3 4" (rank 2) -> 12 34 5
    expect(t.encode('12345')).toEqual([10, 11, 8]);
    // "a !" -> "a", " !" -> "Ġ!"
    expect(t.encode('a !')).toEqual([14, 9]);
  });

  it.each([['default'], ['(missing)']])('%s: punctuation runs and groups of three digits are pieces of their own', (pre) => {
    const t = encoder(gpt2(pre === 'default' ? [['tokenizer.ggml.pre', gv.str('default')]] : []));
    // "[0-9][0-9][0-9]" splits "12345" into "123" | "45": 1 2 3 -> 12 3 -> 123; 4 5 -> 45
    expect(t.encode('12345')).toEqual([12, 13]);
    // "[\p{P}...]+" isolates "!" first, so " " and "!" never meet: "a", "Ġ", "!"
    expect(t.encode('a !')).toEqual([14, 2, 3]);
  });
});

describe('BOS / EOS as llama.cpp adds them', () => {
  it('llama-bpe and llama3 add BOS when add_bos_token is absent; gpt-2 does not', () => {
    expect(encoder(gpt2([['tokenizer.ggml.pre', gv.str('llama-bpe')]])).encode('a')).toEqual([0, 14]);
    expect(encoder(gpt2([['tokenizer.ggml.pre', gv.str('llama3')]])).encode('a')).toEqual([0, 14]);
    expect(encoder(gpt2([['tokenizer.ggml.pre', gv.str('llama-bpe')], ['tokenizer.ggml.add_bos_token', gv.bool(false)]])).encode('a')).toEqual([14]);
    expect(encoder(gpt2([['tokenizer.ggml.pre', gv.str('gpt-2')]])).encode('a')).toEqual([14]);
  });

  it('add_eos_token appends EOS (with or without BOS)', () => {
    expect(encoder(gpt2([['tokenizer.ggml.pre', gv.str('gpt-2')], ['tokenizer.ggml.add_eos_token', gv.bool(true)]])).encode('a')).toEqual([14, 1]);
    const both = gpt2([['tokenizer.ggml.pre', gv.str('gpt-2')], ['tokenizer.ggml.add_bos_token', gv.bool(true)], ['tokenizer.ggml.add_eos_token', gv.bool(true)]]);
    expect(encoder(both).encode('a')).toEqual([0, 14, 1]);
    expect(encoder(both).decode([0, 14, 1], { skipSpecialTokens: true })).toBe('a');
  });
});

describe('a SentencePiece vocabulary without special-token ids', () => {
  const PIECES = ['<unk>', '<s>', '</s>', '\u2581', 'a', '\u2581a'];
  const meta = new GgufMeta(
    new Map<string, GgufValue>([
      ['tokenizer.ggml.model', gv.str('llama')],
      ['tokenizer.ggml.tokens', gv.strings(PIECES)],
      ['tokenizer.ggml.scores', gv.f32s([0, 0, 0, -2, -2, -1])],
      ['tokenizer.ggml.token_type', gv.i32s([2, 3, 3, 1, 1, 1])],
    ]),
    'spm.gguf',
  );

  it('uses llama.cpp defaults: BOS 1, EOS 2, unknown 0, and adds BOS', () => {
    const t = tokenizerFromGguf(meta)!;
    expect(t.tokenizerConfig).toMatchObject({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' });
    expect(loadTokenizerJson(t.tokenizerJson as object).encode('a')).toEqual([1, 5]);
  });
});

describe('files without a vocabulary and the pad token', () => {
  it('"none" and "no_vocab" mean no tokenizer', () => {
    for (const model of ['none', 'no_vocab']) expect(tokenizerFromGguf(new GgufMeta(new Map([['tokenizer.ggml.model', gv.str(model)]]), 'x.gguf'))).toBeNull();
  });

  it('padding_token_id names pad_token', () => {
    const t = tokenizerFromGguf(gpt2([['tokenizer.ggml.pre', gv.str('gpt-2')], ['tokenizer.ggml.padding_token_id', gv.u32(1)]]))!;
    expect(t.tokenizerConfig.pad_token).toBe('</s>');
  });
});

describe('pre-tokenizer aliases llama.cpp maps onto the same split', () => {
  it.each([
    ['llama-v3', 'llama-bpe'],
    ['falcon3', 'llama-bpe'],
    ['deepseek-r1-qwen', 'qwen2'],
    ['starcoder', 'smollm'],
  ])('%s splits like %s', (alias, canonical) => {
    const a = tokenizerFromGguf(gpt2([['tokenizer.ggml.pre', gv.str(alias)]]))!;
    const b = tokenizerFromGguf(gpt2([['tokenizer.ggml.pre', gv.str(canonical)]]))!;
    expect(a.tokenizerJson).toEqual(b.tokenizerJson);
    expect(encoder(gpt2([['tokenizer.ggml.pre', gv.str(alias)]])).encode('a !12345')).toEqual(encoder(gpt2([['tokenizer.ggml.pre', gv.str(canonical)]])).encode('a !12345'));
  });
});

describe('naming a tokenizer.json pre-tokenizer for llama.cpp', () => {
  const split = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });
  const QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  it('ignores trim_offsets (offsets only, not ids) and key order, as Qwen2 ships trim_offsets false', () => {
    const qwen2 = { type: 'Sequence', pretokenizers: [split(QWEN2), { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }] };
    expect(preTokenizerName(qwen2)).toBe('qwen2');
    const reordered = { pretokenizers: [split(QWEN2), { use_regex: false, trim_offsets: true, add_prefix_space: false, type: 'ByteLevel' }], type: 'Sequence' };
    expect(preTokenizerName(reordered)).toBe('qwen2');
  });

  it('still refuses a split that differs in a way that changes ids', () => {
    const other = { type: 'Sequence', pretokenizers: [split('\\p{N}{1,2}'), { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }] };
    expect(preTokenizerName(other)).toBeNull();
    const prefixed = { type: 'Sequence', pretokenizers: [split(QWEN2), { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: false }] };
    expect(preTokenizerName(prefixed)).toBeNull();
  });
});
