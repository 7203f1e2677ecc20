/**
 * initModelDir: a directory every consumer can load, whose tokenizer has exactly vocab_size ids
 * (each decodes) and whose special token is BOS/EOS.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizerJson } from '@llm/tokenizer';
import { initModelDir, buildTokenizerJson, END_OF_TEXT } from './init-model-dir';
import { loadModelDir } from './io';

describe('initModelDir', () => {
  it('writes a loadable directory whose tokenizer covers exactly vocab_size ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'init-'));
    const config = initModelDir(dir, 'gpt2', { overrides: { vocab_size: 300 }, seed: 4, dtype: 'BF16' });
    const m = await loadModelDir(dir);
    expect(m.config.vocabSize).toBe(300);
    expect(m.generation.eosTokenIds).toEqual([299]);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    const json = JSON.parse(readFileSync(m.tokenizerPath!, 'utf8'));
    expect(Object.keys(json.model.vocab).length + json.added_tokens.length).toBe(config.vocabSize);
    const tok = loadTokenizerJson(json);
    for (let id = 0; id < config.vocabSize; id++) expect(typeof tok.decode([id])).toBe('string');
    expect(tok.decode([299])).toBe(END_OF_TEXT);
    expect(tok.decode(tok.encode('the model predicts'))).toBe('the model predicts');
  });

  it('rejects a vocab too small for byte-level BPE', () => {
    expect(() => buildTokenizerJson(200)).toThrow(/vocab_size=200 is too small for a byte-level BPE tokenizer \(expected >= 257/);
  });
});
