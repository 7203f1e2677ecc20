/**
 * `llm serve --model file.gguf`: a GGUF file written by `llm quantize --gguf` (Q8_0) served by the
 * embedded platform. Greedy tokens over gRPC equal the model library's reference generate on the
 * same file (where the reference's top-2 margin is clear), and /v1/chat/completions renders the
 * chat template the file embeds (its prompt is exactly that template's tokens).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, initModelDir, loadModelDir, modelTokenizerJson, Transformer } from '@llm/model';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { loadTokenizerJson } from '@llm/tokenizer';
import { startEmbedded, type EmbeddedPlatform } from '../src/serve/embedded';
import { llm } from './support/llm';

jest.setTimeout(120_000);

const TEMPLATE = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";
let dir: string;
let gguf: string;
let platform: EmbeddedPlatform;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-serve-gguf-'));
  initModelDir(join(dir, 'model'), 'llama', { seed: 7 });
  writeFileSync(join(dir, 'model', 'tokenizer_config.json'), JSON.stringify({ chat_template: TEMPLATE }));
  gguf = join(dir, 'model-q8_0.gguf');
  const q = await llm('quantize', '--model', join(dir, 'model'), '--format', 'q8_0', '--gguf', gguf);
  expect(q.err).toBeNull();
  platform = await startEmbedded({ host: '127.0.0.1', grpcPort: 0, httpPort: 0, backend: 'ts', threads: 1, kvCacheGib: 0.01, blockSize: 8, maxNumSeqs: 16, maxNumBatchedTokens: 256, modelDir: gguf });
});

afterAll(async () => {
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('serves the GGUF file: greedy tokens equal the reference on the same file', async () => {
  const model = await loadModelDir(gguf);
  const tf = new Transformer(model.config, model.weights);
  const conn = connectGrpc(inference.InferenceDefinition, platform.grpcAddress);
  let checked = 0;
  try {
    for (let seed = 0; checked < 2 && seed < 100; seed++) {
      const prompt = Array.from({ length: 4 + (seed % 5) }, (_, i) => (seed * 37 + i * 11 + 3) % 400);
      const ref = await generate(tf, prompt, { maxTokens: 8, sampling: { temperature: 0 } });
      if (Math.min(...ref.margins) < 1e-3 || ref.tokens.length !== 8) continue;
      const got = await conn.client.complete({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 8, ignoreEos: true } });
      expect(got.choices[0].tokenIds).toEqual(ref.tokens);
      checked++;
    }
  } finally {
    conn.close();
  }
  expect(checked).toBe(2);
});

it("renders chat prompts with the file's embedded template", async () => {
  const model = await loadModelDir(gguf);
  const tok = loadTokenizerJson(modelTokenizerJson(model) as string);
  const messages = [{ role: 'user', content: 'The quick brown fox' }];
  const res = await fetch(`http://${platform.httpAddress}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: platform.modelId, messages, max_tokens: 3, temperature: 0 }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { usage: { prompt_tokens: number }; model: string };
  expect(body.usage.prompt_tokens).toBe(tok.encode('[user] The quick brown fox\n[assistant] ').length);
  expect(body.model).toBe(platform.modelId);
});
