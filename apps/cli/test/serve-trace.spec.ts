/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * Internals traces through the real apps (`llm serve --allow-trace`), embedded and --distributed,
 * on a Mixtral-shaped model with the ONNX Runtime backend: attention rows come from the traced ORT
 * graphs, MoE routing from the router service (in-process, or its own process), block tables from
 * the kv-manager, the request through BullMQ in distributed mode. Both platforms give the same
 * trace, and its attention rows and gating equal the float64 reference forward.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModelDir, loadModelDir, readSafetensors, type LoadedModel } from '@llm/model';
import { plainForward } from '@llm/model/testing';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { startRedis, type StartedRedis } from '@llm/testing';
import { startEmbedded, type EmbeddedPlatform } from '../src/serve/embedded';
import { startDistributed, type DistributedPlatform } from '../src/serve/distributed';

jest.setTimeout(300_000);

type Trace = NonNullable<inference.CompleteResponse['trace']>;
const f32 = (b: Uint8Array) => Array.from(new Float32Array(Uint8Array.from(b).buffer));
const settings = { host: '127.0.0.1', backend: 'ort' as const, threads: 1, kvCacheGib: 0.01, blockSize: 4, maxNumSeqs: 16, maxNumBatchedTokens: 256, allowTrace: true };
const TRACE = { tokenizer: true, attention: { layers: [], heads: [] }, moe: true, kv: true, scheduler: true, sampling: { top: 3 } };

let dir: string;
let model: LoadedModel;
let embedded: EmbeddedPlatform;
let redis: StartedRedis;
let distributed: DistributedPlatform;

async function traced(address: string, prompt: string): Promise<inference.CompleteResponse> {
  const conn = connectGrpc(inference.InferenceDefinition, address);
  try {
    return await conn.client.complete(inference.CompleteRequest.fromPartial({ prompt, sampling: { temperature: 0, maxTokens: 4, ignoreEos: true }, cacheSalt: address, trace: TRACE }));
  } finally {
    conn.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-trace-'));
  initModelDir(join(dir, 'model'), 'mixtral', { seed: 4, overrides: { initializer_range: 0.1, vocab_size: 384 } });
  model = await loadModelDir(join(dir, 'model'));
  embedded = await startEmbedded({ ...settings, modelDir: join(dir, 'model'), grpcPort: 0, httpPort: -1 });
  redis = await startRedis();
  distributed = await startDistributed({ ...settings, modelDir: join(dir, 'model'), grpcPort: 0, httpPort: -1, redisUrl: redis.url });
});

afterAll(async () => {
  await distributed?.close();
  await redis?.stop();
  await embedded?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('embedded and distributed give the same trace, equal to the float64 reference', async () => {
  const prompt = 'the model routes tokens';
  const [e, d] = [await traced(embedded.grpcAddress, prompt), await traced(distributed.grpcAddress, prompt)];
  expect(d.choices[0].tokenIds).toEqual(e.choices[0].tokenIds);
  const te = e.trace as Trace;
  const td = d.trace as Trace;
  const c = model.config;
  const tokens = [...te.promptTokenIds, ...te.outputTokenIds];
  expect(te.attention).toHaveLength((tokens.length - 1) * c.numLayers * c.numHeads);
  expect(td.attention.map((r) => [r.layer, r.head, r.queryPosition])).toEqual(te.attention.map((r) => [r.layer, r.head, r.queryPosition]));
  const rows = new Map<string, number[]>();
  const gates = new Map<string, { probs: number[]; experts: number[]; weights: number[] }>();
  plainForward(c, readSafetensors(join(dir, 'model', 'model.safetensors')), tokens, {
    attention: (l, h, t, p) => rows.set(`${l}/${h}/${t}`, p),
    moe: (l, t, probs, experts, weights) => gates.set(`${l}/${t}`, { probs, experts, weights }),
  });
  for (const t of [te, td]) {
    for (const r of t.attention) {
      const want = rows.get(`${r.layer}/${r.head}/${r.queryPosition}`) as number[];
      f32(r.weightsF32).forEach((w, j) => expect(Math.abs(w - want[j])).toBeLessThan(1e-5));
    }
    expect(t.moe).toHaveLength((tokens.length - 1) * c.numLayers);
    for (const m of t.moe) {
      const want = gates.get(`${m.layer}/${m.position}`) as { probs: number[]; experts: number[]; weights: number[] };
      f32(m.gateProbsF32).forEach((p, i) => expect(Math.abs(p - want.probs[i])).toBeLessThan(1e-5));
      expect(m.expertIds).toEqual(want.experts);
      m.weights.forEach((w, j) => expect(Math.abs(w - want.weights[j])).toBeLessThan(1e-5));
      expect(m.replicas).toEqual(m.expertIds.map(() => 'local')); // the router's own experts
    }
    expect(t.tokenizer?.pieces.flatMap((p) => p.tokenIds)).toEqual(t.promptTokenIds);
    expect(t.kv?.steps.map((s) => s.blockIds.length)).toEqual(te.kv?.steps.map((s) => s.blockIds.length));
    expect(t.scheduler?.steps).toHaveLength(4);
    expect(t.sampling.map((s) => s.tokenId)).toEqual(t.outputTokenIds);
  }
});

it('a platform started without --allow-trace refuses a trace naming the field', async () => {
  const off = await startEmbedded({ ...settings, allowTrace: false, modelDir: join(dir, 'model'), grpcPort: 0, httpPort: -1 });
  try {
    await expect(traced(off.grpcAddress, 'x')).rejects.toMatchObject({ details: expect.stringMatching(/field 'trace': tracing is off on this server \(start it with --allow-trace/) });
  } finally {
    await off.close();
  }
});
