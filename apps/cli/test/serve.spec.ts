/**
 * The composition root end to end: `llm serve`'s embedded platform (all five services in one
 * process over the in-process transport) and `llm serve --distributed` (each app its own process
 * on 127.0.0.1, gRPC between them, BullMQ on Redis from startRedis()).
 *
 * Greedy Generate over the public gRPC API equals the model library's reference `generate` token
 * for token, asserted only where the reference's top-2 logit margin is clear; 32 concurrent
 * streams on the distributed platform give the outputs the embedded one gives; every internal
 * service answers grpc.health.v1 on the embedded server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { generate, initModelDir, loadModelDir, Transformer } from '@llm/model';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { startRedis, type StartedRedis } from '@llm/testing';
import { startEmbedded, type EmbeddedPlatform } from '../src/serve/embedded';
import { startDistributed, type DistributedPlatform } from '../src/serve/distributed';

jest.setTimeout(300_000);

const MARGIN = 1e-3;
const MAX_TOKENS = 12;
let dir: string;
let embedded: EmbeddedPlatform;
let transformer: Transformer;
const settings = {
  host: '127.0.0.1',
  httpPort: 0,
  backend: 'ts' as const,
  threads: 1,
  kvCacheGib: 0.01,
  blockSize: 8,
  maxNumSeqs: 64,
  maxNumBatchedTokens: 512,
};

type InferenceClient = ReturnType<typeof connectGrpc<typeof inference.InferenceDefinition>>['client'];

async function streamTokens(client: InferenceClient, prompt: number[]): Promise<number[]> {
  const ids: number[] = [];
  for await (const d of client.generate({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: MAX_TOKENS, ignoreEos: true } })) {
    expect(d.tokenOffset).toBe(ids.length); // no gap, no duplicate
    ids.push(...d.tokenIds);
  }
  return ids;
}

/** Prompts whose greedy reference continuation has a clear top-2 margin at every step. */
async function promptsWithMargins(count: number): Promise<Array<{ prompt: number[]; tokens: number[] }>> {
  const out: Array<{ prompt: number[]; tokens: number[] }> = [];
  for (let seed = 0; out.length < count && seed < 400; seed++) {
    const prompt = Array.from({ length: 3 + (seed % 7) }, (_, i) => (seed * 37 + i * 11 + 3) % 400);
    const ref = await generate(transformer, prompt, { maxTokens: MAX_TOKENS, sampling: { temperature: 0 } });
    if (Math.min(...ref.margins) > MARGIN && ref.tokens.length === MAX_TOKENS) out.push({ prompt, tokens: ref.tokens });
  }
  expect(out.length).toBe(count);
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-serve-'));
  initModelDir(join(dir, 'model'), 'llama', { seed: 7 });
  const model = await loadModelDir(join(dir, 'model'));
  transformer = new Transformer(model.config, model.weights);
  embedded = await startEmbedded({ ...settings, modelDir: join(dir, 'model'), grpcPort: 0 });
});

afterAll(async () => {
  await embedded?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded platform (llm serve)', () => {
  it('serves health for the Inference API and every internal service on one port', async () => {
    const channel = createChannel(embedded.grpcAddress);
    const health = createClient(HealthDefinition, channel);
    for (const service of ['llm.inference.v1.Inference', 'llm.tokenizer.v1.Tokenizer', 'llm.kv.v1.KvManager', 'llm.worker.v1.Worker']) {
      expect((await health.check({ service })).status).toBe(1); // SERVING
    }
    channel.close();
  });

  it('gives the reference greedy tokens over gRPC, and streaming equals unary', async () => {
    const conn = connectGrpc(inference.InferenceDefinition, embedded.grpcAddress);
    try {
      for (const { prompt, tokens } of await promptsWithMargins(3)) {
        expect(await streamTokens(conn.client, prompt)).toEqual(tokens);
        const unary = await conn.client.complete({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: MAX_TOKENS, ignoreEos: true } });
        expect(unary.choices[0].tokenIds).toEqual(tokens);
      }
    } finally {
      conn.close();
    }
  });
});

describe('distributed platform (llm serve --distributed)', () => {
  let redis: StartedRedis;
  let platform: DistributedPlatform;

  beforeAll(async () => {
    redis = await startRedis();
    const grpcPort = 40000 + (process.pid % 20000);
    platform = await startDistributed({ ...settings, modelDir: join(dir, 'model'), grpcPort, httpPort: -1, redisUrl: redis.url });
  });

  afterAll(async () => {
    await platform?.close();
    await redis?.stop();
  });

  it('runs each app as its own process', () => {
    for (const app of ['orchestrator', 'attention-worker', 'tokenizer-service', 'kv-manager']) {
      expect(platform.processes[app].pid).toBeGreaterThan(0);
      expect(platform.processes[app].exitCode).toBeNull();
    }
    // The process that runs model steps gets V8 room for its garbage (MODEL_PROCESS_V8_FLAGS); the others do not need it.
    expect(platform.processes['attention-worker'].spawnargs).toEqual(expect.arrayContaining(['--initial-old-space-size=128']));
    expect(platform.processes['kv-manager'].spawnargs).not.toEqual(expect.arrayContaining(['--initial-old-space-size=128']));
  });

  it('built apps follow a grammar and embed: the same results as the embedded platform', async () => {
    const dist = connectGrpc(inference.InferenceDefinition, platform.grpcAddress);
    const emb = connectGrpc(inference.InferenceDefinition, embedded.grpcAddress);
    try {
      const req = { prompt: 'x', sampling: { maxTokens: 20, temperature: 1, seed: 3, n: 2 }, structuredOutput: { choice: { choices: ['alpha', 'beta', 'gamma delta'] } } };
      const [a, b] = await Promise.all([dist.client.complete(req), emb.client.complete(req)]);
      expect(a.choices.map((c) => c.text)).toEqual(b.choices.map((c) => c.text));
      for (const c of a.choices) expect(['alpha', 'beta', 'gamma delta']).toContain(c.text);
      const e = { input: ['embed me', 'and me too'] };
      const [ea, eb] = await Promise.all([dist.client.embed(e), emb.client.embed(e)]);
      expect(ea.data.map((d) => Buffer.from(d.embeddingF32).toString('hex'))).toEqual(eb.data.map((d) => Buffer.from(d.embeddingF32).toString('hex')));
    } finally {
      dist.close();
      emb.close();
    }
  });

  it('completes 32 concurrent streams with the outputs of the embedded platform', async () => {
    const cases = await promptsWithMargins(8);
    const dist = connectGrpc(inference.InferenceDefinition, platform.grpcAddress);
    const emb = connectGrpc(inference.InferenceDefinition, embedded.grpcAddress);
    try {
      const jobs = Array.from({ length: 32 }, (_, i) => cases[i % cases.length]);
      const [got, want] = await Promise.all([
        Promise.all(jobs.map((c) => streamTokens(dist.client, c.prompt))),
        Promise.all(jobs.map((c) => streamTokens(emb.client, c.prompt))),
      ]);
      expect(got).toEqual(want);
      expect(got).toEqual(jobs.map((c) => c.tokens));
    } finally {
      dist.close();
      emb.close();
    }
  });
});
