/*
 * Internals traces in distributed mode: the request travels as a BullMQ job on Redis, the
 * scheduler role writes the trace into the request's Redis stream (proto3 JSON, float bytes as
 * base64), the api role relays it; the worker runs behind gRPC, so its rows cross the wire as
 * little-endian float bytes. The trace equals the independent float64 expectations, as embedded.
 */
import { KvPools } from '@llm/kv';
import { loadModelDir, type LoadedModel } from '@llm/model';
import { connectGrpc, createInProcessClient, startGrpcServer, type RunningGrpcServer } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { startRedis, type StartedRedis } from '@llm/testing';
import { createOrchestrator, type Orchestrator } from '../src';
import { kvImplementation, modelDir, startTestWorker, testConfig, workerImplementation, type TestWorker } from './support/platform';
import { expectAttentionRows, expectTokenizerTrace, plainReference } from './support/trace';

jest.setTimeout(120_000);
let redis: StartedRedis;
let w: TestWorker;
let model: LoadedModel;
let server: RunningGrpcServer;
let closeClient: () => void;
let orch: Orchestrator;
const dir = modelDir(0);

beforeAll(async () => {
  redis = await startRedis({ prefer: (process.env.LLM_TEST_REDIS as 'container' | 'process' | undefined) ?? 'process' });
  model = await loadModelDir(dir);
  const pools = new KvPools();
  w = await startTestWorker(model, pools, 'worker-t', 200, 4);
  server = await startGrpcServer({ port: 0, services: [{ definition: worker.WorkerDefinition, implementation: workerImplementation(w.runner, model, 'worker-t') }] });
  const conn = connectGrpc(worker.WorkerDefinition, server.address);
  closeClient = conn.close;
  orch = await createOrchestrator(
    testConfig({ model: dir, role: 'all', redisUrl: redis.url, queuePrefix: `trace${process.pid}`, httpPort: 0, maxNumSeqs: 8, maxNumBatchedTokens: 64, allowTrace: true }),
    { kv: createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools)), worker: conn.client },
  );
});

afterAll(async () => {
  await orch?.close();
  closeClient?.();
  await server?.close(100);
  await w?.runner.dispose();
  await redis?.stop();
});

it('a trace crosses BullMQ, the Redis stream and the worker gRPC with the same values', async () => {
  const prompt = 'queue the model tokens';
  for (const stream of [false, true]) {
    const res = await fetch(`http://${orch.http}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, max_tokens: 4, temperature: 0, ignore_eos: true, stream, trace: { tokenizer: true, attention: { layers: [1], heads: [] }, kv: true, scheduler: true, sampling: { top: 3 } } }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = stream ? JSON.parse(text.split('\n\n').filter((e) => e.startsWith('data: {')).pop()?.slice(6) ?? '{}') : JSON.parse(text);
    const t = body.trace;
    const ids = orch.facts.tokenizer.encode(prompt);
    expectTokenizerTrace(t, orch.facts.tokenizer, prompt, ids);
    const tokens = [...ids, ...t.output_token_ids];
    // the second run hits the first's cached prompt blocks: those positions have no rows
    expect(t.attention_skipped_positions).toBe(stream ? t.kv.steps[0].prefix_hit_blocks * 4 : 0);
    if (stream) expect(t.attention_skipped_positions).toBeGreaterThan(0);
    const computed = tokens.length - 1 - t.attention_skipped_positions;
    expect(expectAttentionRows(t, plainReference(model, tokens), model.config.numHeads, model.config.numKvHeads)).toBe(computed * model.config.numHeads);
    expect(t.kv.steps).toHaveLength(4);
    expect(t.scheduler.steps).toHaveLength(4);
    expect(t.sampling.map((s: { token_id: number }) => s.token_id)).toEqual(t.output_token_ids);
  }
});
