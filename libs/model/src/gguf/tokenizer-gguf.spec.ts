/*
 * GGUF's SentencePiece ("llama") vocabulary, which has scores instead of merges, against
 * encodings worked out by hand with SentencePiece's rule (repeatedly merge the adjacent pair
 * whose concatenation is a piece with the highest score; unknown characters fall back to
 * <0xXX> byte pieces; a leading "▁" stands for the space before the text), plus BOS from
 * add_bos_token, decoding, and errors for vocabularies the loader does not know.
 */
import { loadTokenizerJson } from '@llm/tokenizer';
import { GgufMeta, gv } from './metadata';
import { tokenizerFromGguf } from './tokenizer-from-gguf';
import type { GgufValue } from './types';

const PIECES: Array<[string, number, number]> = [
  // piece, score, token type (1 normal, 2 unknown, 3 control, 6 byte)
  ['<unk>', 0, 2], ['<s>', 0, 3], ['</s>', 0, 3], ['<0x0A>', 0, 6], ['<0xC3>', 0, 6], ['<0xA9>', 0, 6],
  ['\u2581', -10, 1], ['h', -10, 1], ['e', -10, 1], ['l', -10, 1], ['o', -10, 1],
  ['\u2581h', -1, 1], ['ll', -2, 1], ['\u2581he', -3, 1], ['llo', -4, 1], ['\u2581hello', -5, 1], ['w', -10, 1], ['\u2581w', -6, 1],
];

function meta(extra: Array<[string, GgufValue]> = []): GgufMeta {
  const kv = new Map<string, GgufValue>([
    ['tokenizer.ggml.model', gv.str('llama')],
    ['tokenizer.ggml.tokens', gv.strings(PIECES.map((p) => p[0]))],
    ['tokenizer.ggml.scores', gv.f32s(PIECES.map((p) => p[1]))],
    ['tokenizer.ggml.token_type', gv.i32s(PIECES.map((p) => p[2]))],
    ['tokenizer.ggml.bos_token_id', gv.u32(1)],
    ['tokenizer.ggml.eos_token_id', gv.u32(2)],
    ['tokenizer.ggml.unknown_token_id', gv.u32(0)],
    ['tokenizer.chat_template', gv.str('{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}')],
    ...extra,
  ]);
  return new GgufMeta(kv, 'fixture.gguf');
}

describe('a SentencePiece vocabulary from GGUF', () => {
  const t = tokenizerFromGguf(meta())!;
  const tok = loadTokenizerJson(t.tokenizerJson as object);

  it('merges by score, as worked out by hand', () => {
    // "▁hello": ▁h (-1) first, then ll (-2), then ▁he (-3), then llo (-4), then ▁hello (-5)
    expect(tok.encode('hello')).toEqual([1, 15]);
    // "▁hello▁w": ... ▁hello, and ▁w (-6)
    expect(tok.encode('hello w')).toEqual([1, 15, 17]);
    // "▁hé": ▁h, then é is not a piece: its UTF-8 bytes C3 A9
    expect(tok.encode('hé')).toEqual([1, 11, 4, 5]);
    // "▁ho\n": ▁h, o, then the newline's byte piece
    expect(tok.encode('ho\n')).toEqual([1, 11, 10, 3]);
  });

  it('decodes back to the text and names its special tokens and template', () => {
    for (const text of ['hello w', 'hé', 'ho\n']) expect(tok.decode(tok.encode(text), { skipSpecialTokens: true })).toBe(text);
    expect(t.tokenizerConfig).toMatchObject({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', chat_template: '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}' });
  });

  it('add_bos_token false drops the BOS; add_space_prefix false drops the leading ▁', () => {
    const plain = loadTokenizerJson(tokenizerFromGguf(meta([['tokenizer.ggml.add_bos_token', gv.bool(false)], ['tokenizer.ggml.add_space_prefix', gv.bool(false)]]))!.tokenizerJson as object);
    expect(plain.encode("hello")).toEqual([7, 8, 14]); // h e l l o -> h e ll o (-2) -> h e llo (-4): no "▁h" without the prefix
  });
});

describe('unsupported vocabularies are one error naming the key', () => {
  it('names the model and the pre-tokenizer', () => {
    expect(() => tokenizerFromGguf(meta([['tokenizer.ggml.model', gv.str('rwkv')]]))).toThrow('fixture.gguf: tokenizer.ggml.model "rwkv" is not supported (expected gpt2, llama, or none)');
    const gpt2 = meta([['tokenizer.ggml.model', gv.str('gpt2')], ['tokenizer.ggml.pre', gv.str('falcon')]]);
    expect(() => tokenizerFromGguf(gpt2)).toThrow(/fixture.gguf: tokenizer.ggml.pre "falcon" is not supported \(expected one of gpt-2, default, llama-bpe, llama3, qwen2, smollm\)/);
    expect(() => tokenizerFromGguf(meta([['tokenizer.ggml.bos_token_id', gv.u32(99)]]))).toThrow('fixture.gguf: tokenizer.ggml.bos_token_id 99 is not a token id (18 tokens)');
  });
});
