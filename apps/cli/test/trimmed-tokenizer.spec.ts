/**
 * Issue 16, observed defect 1: a model directory whose byte-level tokenizer.json covers only
 * printable ASCII (valid: Hugging Face loads it) works everywhere: `llm forward` and `llm generate`
 * with token ids and with text, and `llm serve`, whose greedy output for token-id prompts equals
 * the same model's reference output computed without any tokenizer (margins asserted).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, initModelDir, loadModelDir, Transformer } from '@llm/model';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { trimByteLevelVocab } from '@llm/tokenizer/testing';
import { startEmbedded } from '../src/serve/embedded';
import { llm } from './support/llm';

jest.setTimeout(120_000);

const MAX_TOKENS = 8;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-trimmed-'));
  initModelDir(dir, 'llama', { seed: 11, overrides: { vocab_size: 384, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64, max_position_embeddings: 128 } });
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const trimmed = trimByteLevelVocab(json);
  expect(Object.keys(trimmed.model.vocab).length).toBeLessThan(Object.keys(json.model.vocab).length); // bytes really are missing
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(trimmed));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('llm forward and llm generate accept the directory, with token ids and with text', async () => {
  const fwd = await llm('forward', '--model', dir, '--tokens', '1,2,3', '--json');
  expect(fwd.err).toBeNull();
  expect(JSON.parse(fwd.out).logits).toHaveLength(3);
  const gen = await llm('generate', '--model', dir, '--tokens', '40,41,42', '--max-tokens', '4', '--temperature', '0', '--json');
  expect(gen.err).toBeNull();
  const tokens = JSON.parse(gen.out).tokens as number[];
  expect(tokens.length).toBeGreaterThan(0);
  expect(tokens.length).toBeLessThanOrEqual(4); // EOS may end it early
  const text = await llm('generate', '--model', dir, '--prompt', 'caf\u00e9 ok', '--max-tokens', '3', '--temperature', '0', '--json');
  expect(text.err).toBeNull();
});

it('llm serve serves it, and greedy output for token-id prompts equals the model without a tokenizer', async () => {
  const model = await loadModelDir(dir);
  const transformer = new Transformer(model.config, model.weights);
  const cases: Array<{ prompt: number[]; tokens: number[] }> = [];
  for (let seed = 0; cases.length < 3 && seed < 200; seed++) {
    // Ids of all kinds, control-byte ids (which the trimmed vocabulary dropped) included.
    const prompt = Array.from({ length: 4 + (seed % 4) }, (_, i) => (seed * 53 + i * 29 + 1) % 383);
    const ref = await generate(transformer, prompt, { maxTokens: MAX_TOKENS, sampling: { temperature: 0 } });
    if (Math.min(...ref.margins) > 1e-3 && ref.tokens.length === MAX_TOKENS) cases.push({ prompt, tokens: ref.tokens });
  }
  expect(cases).toHaveLength(3);
  const platform = await startEmbedded({ modelDir: dir, host: '127.0.0.1', grpcPort: 0, httpPort: 0, backend: 'ts', threads: 1, kvCacheGib: 0.01, blockSize: 8, maxNumSeqs: 8, maxNumBatchedTokens: 256 });
  const conn = connectGrpc(inference.InferenceDefinition, platform.grpcAddress);
  try {
    for (const c of cases) {
      const res = await conn.client.complete({ promptTokenIds: c.prompt, sampling: { temperature: 0, maxTokens: MAX_TOKENS, ignoreEos: true } });
      expect(res.choices[0].tokenIds).toEqual(c.tokens);
    }
    const http = await fetch(`http://${platform.httpAddress}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'na\u00efve text', max_tokens: 3 }) });
    expect(http.status).toBe(200);
  } finally {
    conn.close();
    await platform.close();
  }
});

it('a tokenizer.json that cannot be used is one line naming the file, for `llm serve` and `llm generate --prompt`', async () => {
  const bad = mkdtempSync(join(tmpdir(), 'llm-badtok-'));
  try {
    initModelDir(bad, 'llama', { seed: 1, overrides: { vocab_size: 300, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 } });
    writeFileSync(join(bad, 'tokenizer.json'), JSON.stringify({ model: { type: 'Unigram', vocab: [] } }));
    const serve = await llm('serve', '--model', bad, '--grpc-port', '0', '--http-port', '-1', '--backend', 'ts');
    expect(String(serve.err)).toMatch(new RegExp(`${join(bad, 'tokenizer.json')}: model.type "Unigram" is not supported`));
    expect(String(serve.err).split('\n')).toHaveLength(1);
    const gen = await llm('generate', '--model', bad, '--prompt', 'hi');
    expect(String(gen.err)).toMatch(/tokenizer.json: model.type "Unigram" is not supported/);
    const ids = await llm('generate', '--model', bad, '--tokens', '1,2', '--max-tokens', '2', '--json');
    expect(ids.err).toBeNull(); // token ids need no tokenizer
  } finally {
    rmSync(bad, { recursive: true, force: true });
  }
});
