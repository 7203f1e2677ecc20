/*
 * Writing a SentencePiece-style tokenizer.json (TinyLlama / Llama 2 shape) as
 * GGUF "llama" vocabulary metadata (../testing/spm-tokenizer-fixture.ts): tokens by id, scores from the merge ranks, token types, the
 * special ids and add_* flags, all worked out by hand; the metadata read back encodes like the
 * tokenizer.json; and a model saved without any tokenizer says tokenizer.ggml.model "none".
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizerJson } from '@llm/tokenizer';
import { initRandomModel } from '../init-random';
import { loadModelDir } from '../io/model-dir';
import { GgufMeta } from './metadata';
import { openGguf } from './reader';
import { saveGguf } from './save-gguf';
import { tokenizerFromGguf } from './tokenizer-from-gguf';
import { ggufTokenizerMetadata } from './tokenizer-to-gguf';
import { SPM_FIXTURE, SPM_PIECES } from '../testing/spm-tokenizer-fixture';

const PIECES = SPM_PIECES;
const TOKENIZER = SPM_FIXTURE;

describe('a SentencePiece-style tokenizer.json as a GGUF "llama" vocabulary', () => {
  const kv = new Map(ggufTokenizerMetadata(TOKENIZER, { chat_template: '{{ messages }}' }, 16, { bos: 1, eos: [2] }, 'spm'));
  const value = (k: string) => kv.get(k)?.value;

  it('tokens by id (padded with unused pieces), scores from merge ranks, token types', () => {
    expect(value('tokenizer.ggml.model')).toBe('llama');
    expect((value('tokenizer.ggml.tokens') as { items: string[] }).items).toEqual([...PIECES, '[PAD14]', '[PAD15]']);
    // the merge of rank r produces its piece first: score -(r + 1); characters, bytes, specials 0
    expect((value('tokenizer.ggml.scores') as { items: number[] }).items).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -2, -3, -4, -5, 0, 0]);
    // 2 unknown, 3 control, 6 byte, 1 normal, 5 unused
    expect((value('tokenizer.ggml.token_type') as { items: number[] }).items).toEqual([2, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5]);
  });

  it('special ids, add_bos / add_eos from the post-processor, the space prefix from the normalizer, the template', () => {
    expect([value('tokenizer.ggml.bos_token_id'), value('tokenizer.ggml.eos_token_id'), value('tokenizer.ggml.unknown_token_id')]).toEqual([1, 2, 0]);
    expect([value('tokenizer.ggml.add_bos_token'), value('tokenizer.ggml.add_eos_token'), value('tokenizer.ggml.add_space_prefix')]).toEqual([true, false, true]);
    expect(value('tokenizer.chat_template')).toBe('{{ messages }}');
    expect(kv.has('tokenizer.ggml.pre')).toBe(false); // llama.cpp reads a pre-tokenizer for BPE vocabularies only
  });

  it('read back, it encodes and decodes like the tokenizer.json', () => {
    const original = loadTokenizerJson(TOKENIZER);
    const back = loadTokenizerJson(tokenizerFromGguf(new GgufMeta(kv, 'spm.gguf'))!.tokenizerJson as object);
    for (const text of ['hello', 'hello\n', 'he llo hel', 'oh']) {
      expect(back.encode(text)).toEqual(original.encode(text));
      expect(back.decode(back.encode(text), { skipSpecialTokens: true })).toBe(text);
    }
    expect(back.encode('hello\n')).toEqual([1, 13, 3]); // <s> ▁hello <0x0A>
  });
});

it('a model saved without a tokenizer says tokenizer.ggml.model "none" (llama.cpp requires the key) and loads without one', async () => {
  const { config, weights } = initRandomModel('llama', {}, 3);
  const path = join(mkdtempSync(join(tmpdir(), 'gguf-none-')), 'm.gguf');
  saveGguf(path, { config, weights });
  const f = openGguf(path);
  expect(f.metadata.get('tokenizer.ggml.model')?.value).toBe('none');
  expect(f.metadata.get('llama.vocab_size')?.value).toBe(config.vocabSize);
  f.close();
  expect((await loadModelDir(path)).embeddedTokenizer).toBeNull();
});
