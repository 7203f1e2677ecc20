/*
 * Requirements of llama.cpp's loader that our writer broke before, one test each:
 *   - every token text must be unique (llama-vocab.cpp asserts id_to_token.size() ==
 *     token_to_id.size() and aborts): an added token whose text a vocabulary id also has keeps the
 *     text, the other id becomes an unused "[PAD<id>]" -- llama.cpp's converter's resolution;
 *   - qwen2's attn_q / attn_output are created {C, C}: a qwen2 whose heads do not tile the width
 *     is refused with a clear error instead of writing a file llama.cpp rejects on shape.
 * The table of what was checked is in libs/model/README.md (GGUF).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTokenizerJson } from '../init-model-dir';
import { initRandomModel } from '../init-random';
import { SPM_FIXTURE } from '../testing/spm-tokenizer-fixture';
import { saveGguf } from './save-gguf';
import { ggufTokenizerMetadata } from './tokenizer-to-gguf';
import type { GgufArray } from './types';

const items = (kv: Map<string, { value: unknown }>, key: string) => (kv.get(key)!.value as GgufArray).items;

describe('token texts are unique, as llama.cpp asserts', () => {
  it('gpt2: an added token with the text of vocabulary id 300 keeps the text; id 300 becomes [PAD300], unused', () => {
    const tok = JSON.parse(JSON.stringify(buildTokenizerJson(512, 1)));
    const text = Object.entries(tok.model.vocab as Record<string, number>).find(([, id]) => id === 300)![0];
    tok.added_tokens[0].content = text; // <|endoftext|> (id 511) renamed to a vocabulary text
    tok.model.vocab[text] = 300;
    const kv = new Map(ggufTokenizerMetadata(tok, null, 512, { bos: null, eos: [511] }, 'dup'));
    const tokens = items(kv, 'tokenizer.ggml.tokens'), types = items(kv, 'tokenizer.ggml.token_type');
    expect(new Set(tokens).size).toBe(tokens.length);
    expect([tokens[511], types[511], tokens[300], types[300]]).toEqual([text, 3, '[PAD300]', 5]);
  });

  it('SentencePiece: a user-defined added token "llo" at id 15 keeps the text; id 12 becomes [PAD12], unused', () => {
    const tok = { ...SPM_FIXTURE, added_tokens: [...SPM_FIXTURE.added_tokens, { id: 15, content: 'llo', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false }] };
    const kv = new Map(ggufTokenizerMetadata(tok, null, 16, { bos: 1, eos: [2] }, 'dup'));
    const tokens = items(kv, 'tokenizer.ggml.tokens'), types = items(kv, 'tokenizer.ggml.token_type');
    expect(new Set(tokens).size).toBe(16);
    expect([tokens[15], types[15], tokens[12], types[12]]).toEqual(['llo', 4, '[PAD12]', 5]);
  });
});

it('qwen2 whose heads do not tile the width is refused (llama.cpp creates attn_q as {C, C})', () => {
  const { config, weights } = initRandomModel('qwen2', { head_dim: 32 }, 1);
  expect(config.headDim * config.numHeads).not.toBe(config.hiddenSize);
  const path = join(mkdtempSync(join(tmpdir(), 'gguf-rules-')), 'm.gguf');
  expect(() => saveGguf(path, { config, weights })).toThrow(/qwen2 with head_dim 32 x 4 heads != hidden_size 64 cannot be written as GGUF/);
});
