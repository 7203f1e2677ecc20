/*
 * Embeddings through the official OpenAI SDK (float and base64) and the gRPC Embed RPC: each
 * vector equals the mean of the final-norm hidden states that the library's reference forward
 * (Transformer.hidden) computes for the same tokens, within 1e-5, L2-normalised for HTTP and raw
 * with normalize = false. Inputs longer than the step's token budget are pooled across prefill
 * chunks; several inputs are batched by the scheduler; `dimensions` other than the model's is a 400.
 */
import OpenAI from 'openai';
import { loadModelDir, Transformer } from '@llm/model';
import { inference } from '@llm/proto';
import { expectPoolWhole, startTestPlatform, type TestPlatform } from './support/platform';

let p: TestPlatform;
let client: OpenAI;
let reference: Transformer;

beforeAll(async () => {
  p = await startTestPlatform({ numBlocks: 200, blockSize: 4, config: { httpPort: 0, maxNumBatchedTokens: 32, maxNumSeqs: 8 } });
  client = new OpenAI({ baseURL: `http://${p.orch.http}/v1`, apiKey: 'unused', maxRetries: 0 });
  const m = await loadModelDir(p.model.dir);
  reference = new Transformer(m.config, m.weights);
});
afterAll(() => p.close());

/** mean_t final_norm(h_t) (C), from the reference forward. */
async function meanPooled(ids: number[]): Promise<Float32Array> {
  const h = await reference.hidden(ids); // (T, C)
  const C = h.length / ids.length;
  const out = new Float32Array(C);
  for (let t = 0; t < ids.length; t++) for (let c = 0; c < C; c++) out[c] += h[t * C + c] / ids.length;
  return out;
}

const l2 = (v: Float32Array) => {
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / n);
};

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

it('HTTP vectors (float and base64) are the L2-normalised mean-pooled reference hidden states', async () => {
  const texts = ['The quick brown fox', 'jumps over the lazy dog. '.repeat(6), 'A'];
  const res = await client.embeddings.create({ model: 'tiny-llama', input: texts });
  expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
  let promptTokens = 0;
  for (const [i, text] of texts.entries()) {
    const ids = p.orch.facts.tokenizer.encode(text);
    promptTokens += ids.length;
    expect(maxDiff(res.data[i].embedding, l2(await meanPooled(ids)))).toBeLessThan(1e-5);
  }
  expect(p.orch.facts.tokenizer.encode(texts[1]).length).toBeGreaterThan(32); // pooled across prefill chunks
  expect(res.usage.prompt_tokens).toBe(promptTokens);
  const b64 = await client.embeddings.create({ model: 'tiny-llama', input: [5, 9, 11, 300], encoding_format: 'base64' });
  const bytes = Buffer.from(b64.data[0].embedding as unknown as string, 'base64');
  const vec = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4); // little-endian f32
  expect(maxDiff(vec, l2(await meanPooled([5, 9, 11, 300])))).toBeLessThan(1e-5);
  await new Promise((r) => setTimeout(r, 40));
  expectPoolWhole(p.pools);
});

it('gRPC Embed with normalize = false returns the raw mean', async () => {
  const ids = [[1, 2, 3, 4, 5, 6, 7], [42]];
  const res = await p.orch.inference.embed(inference.EmbedRequest.fromPartial({ inputTokenIds: ids.map((tokenIds) => ({ tokenIds })), normalize: false }));
  expect(res.pooling).toBe('mean');
  for (const [i, list] of ids.entries()) {
    const got = new Float32Array(Uint8Array.from(res.data[i].embeddingF32).buffer);
    expect(got.length).toBe(p.model.config.hiddenSize);
    expect(maxDiff(got, await meanPooled(list))).toBeLessThan(1e-5);
  }
});

it('refuses dimensions other than the model width, and empty input', async () => {
  await expect(client.embeddings.create({ model: 'tiny-llama', input: 'x', dimensions: 8 })).rejects.toMatchObject({ status: 400, param: 'dimensions' });
  await expect(client.embeddings.create({ model: 'tiny-llama', input: [] as string[] })).rejects.toMatchObject({ status: 400, param: 'input' });
});
