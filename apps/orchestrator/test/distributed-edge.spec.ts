/*
 * The distributed orchestrator (BullMQ on Redis, worker and kv-manager over real gRPC) under the
 * conditions of issue 16's observed defects 2, 3 and 7:
 * - a client that leaves a stream (gRPC cancel, deadline, HTTP disconnect) stops its generation
 *   within a step: the worker stops computing for it, its blocks return, it counts as aborted;
 * - a reused caller request_id never returns another request's tokens;
 * - health tells the truth: Redis down -> NOT_SERVING / 503 with the reason within 5 s, new
 *   requests refused at once with 503 + Retry-After, SERVING again when Redis is back; a worker
 *   that dies is reported the same way and the requests in flight complete after it returns.
 */
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { metricsRegistry } from '@llm/platform';
import { inference } from '@llm/proto';
import { expectPoolWhole } from './support/platform';
import { startDistributedHarness, until, type DistributedHarness } from './support/distributed';

jest.setTimeout(120_000);

let h: DistributedHarness;

beforeAll(async () => {
  h = await startDistributedHarness();
  await until(() => h.orch.readiness!.state.ready, 'readiness');
});
afterAll(async () => {
  await h?.close();
});

const long = (over: Partial<inference.GenerateRequest> = {}) =>
  inference.GenerateRequest.fromPartial({ promptTokenIds: [5, 17, 42, 99], sampling: { temperature: 0, maxTokens: 200, ignoreEos: true }, ...over });

async function idle(): Promise<void> {
  await until(() => (h.orch.scheduler?.numRunning ?? 0) + (h.orch.scheduler?.numWaiting ?? 0) === 0, 'the scheduler to go idle', 5000);
  await new Promise((r) => setTimeout(r, 50));
  expectPoolWhole(h.pools);
}

async function abortedCount(): Promise<number> {
  const text = await metricsRegistry().getSingleMetricAsString('llm_request_success_total').catch(() => '');
  let n = 0;
  for (const m of text.matchAll(/\{[^}]*finished_reason="abort"[^}]*\} (\d+)/g)) n += Number(m[1]);
  return n;
}

/** Starts a stream, stops reading after two chunks by `leave`, and checks the work stopped within a step. */
async function expectStopsWithinAStep(leave: (ac: AbortController) => void, req = long()): Promise<void> {
  const conn = h.client();
  const ac = new AbortController();
  let chunks = 0;
  const run = (async () => {
    for await (const _ of conn.client.generate(req, { signal: ac.signal })) {
      if (++chunks === 2) leave(ac);
    }
  })().catch((e) => e);
  await run;
  const stepsAtLeave = h.steps();
  expect(chunks).toBeLessThan(10);
  await idle();
  // The request left the batch within a step: at most the step in flight and one more ran after.
  await new Promise((r) => setTimeout(r, 200));
  expect(h.steps() - stepsAtLeave).toBeLessThanOrEqual(2);
  conn.close();
}

describe('cancellation reaches the scheduler', () => {
  it('a gRPC cancel stops generation within a step, frees the blocks and counts an abort', async () => {
    const before = await abortedCount();
    await expectStopsWithinAStep((ac) => ac.abort());
    expect(await abortedCount()).toBe(before + 1);
  });

  it('a deadline stops it the same way', async () => {
    const conn = h.client();
    const t0 = Date.now();
    const err = await (async () => {
      for await (const _ of conn.client.generate(long(), { deadline: 400 })) void _;
    })().catch((e) => e);
    expect(err.code).toBe(4); // DEADLINE_EXCEEDED
    const stepsAtDeadline = h.steps();
    await idle();
    await new Promise((r) => setTimeout(r, 200));
    expect(h.steps() - stepsAtDeadline).toBeLessThanOrEqual(2);
    expect(Date.now() - t0).toBeLessThan(5000);
    conn.close();
  });

  it('an HTTP client that disconnects mid-stream stops it the same way', async () => {
    const ac = new AbortController();
    const res = await fetch(`http://${h.orch.http}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
      body: JSON.stringify({ prompt: [5, 17, 42, 99], max_tokens: 200, temperature: 0, ignore_eos: true, stream: true }),
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    ac.abort();
    const stepsAtLeave = h.steps();
    await idle();
    await new Promise((r) => setTimeout(r, 200));
    expect(h.steps() - stepsAtLeave).toBeLessThanOrEqual(3);
  });
});

it('a reused caller request_id returns each request its own tokens, concurrently and in turn', async () => {
  const conn = h.client();
  const prompts = [[5, 17, 42, 99], [7, 7, 7, 7, 7], [100, 200, 300]];
  const ref = await Promise.all(prompts.map((p) => conn.client.complete({ promptTokenIds: p, sampling: { temperature: 0, maxTokens: 12, ignoreEos: true } })));
  expect(new Set(ref.map((r) => r.choices[0].tokenIds.join(','))).size).toBe(3);
  const same = await Promise.all(prompts.map((p) => conn.client.complete({ requestId: 'mine', promptTokenIds: p, sampling: { temperature: 0, maxTokens: 12, ignoreEos: true } })));
  expect(same.map((r) => r.choices[0].tokenIds)).toEqual(ref.map((r) => r.choices[0].tokenIds));
  expect(same.map((r) => r.requestId)).toEqual(['mine', 'mine', 'mine']); // echoed back
  const again = await conn.client.complete({ requestId: 'mine', promptTokenIds: prompts[2], sampling: { temperature: 0, maxTokens: 12, ignoreEos: true } });
  expect(again.choices[0].tokenIds).toEqual(ref[2].choices[0].tokenIds);
  conn.close();
  await idle();
});

describe('health tells the truth', () => {
  const channel = () => createChannel(h.grpcAddress);
  async function grpcStatus(service: string): Promise<number> {
    const c = channel();
    try {
      return (await createClient(HealthDefinition, c).check({ service }, { signal: AbortSignal.timeout(2000) })).status;
    } finally {
      c.close();
    }
  }

  it('Redis down: readiness NOT_SERVING and /health 503 with the reason within 5 s, new requests 503 at once; back when Redis is', async () => {
    expect(await grpcStatus('readiness')).toBe(1);
    await h.redis.stop();
    const t0 = Date.now();
    await until(async () => (await grpcStatus('readiness')) === 2, 'NOT_SERVING', 5000);
    expect(await grpcStatus('liveness')).toBe(1); // the process itself is fine: nothing should restart it
    expect(await grpcStatus('llm.inference.v1.Inference')).toBe(2);
    const health = await fetch(`http://${h.orch.http}/health`);
    expect(health.status).toBe(503);
    expect((await health.json()).reason).toMatch(/redis/i);
    expect(Date.now() - t0).toBeLessThan(5000);
    const t1 = Date.now();
    const res = await fetch(`http://${h.orch.http}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi', max_tokens: 2 }) });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(Date.now() - t1).toBeLessThan(1000);
    await h.redis.start();
    await until(async () => (await grpcStatus('readiness')) === 1, 'SERVING again', 10_000);
    expect((await fetch(`http://${h.orch.http}/health`)).status).toBe(200);
    const ok = await fetch(`http://${h.orch.http}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi', max_tokens: 2 }) });
    expect(ok.status).toBe(200);
  });

  it('a dead worker is reported within 5 s, and requests in flight complete after it returns', async () => {
    await until(() => h.orch.readiness!.state.ready, 'ready');
    const conn = h.client();
    const reqs = [[5, 17, 42, 99], [7, 7, 7, 7, 7]].map((p) => ({ promptTokenIds: p, sampling: { temperature: 0, maxTokens: 40, ignoreEos: true } }));
    const want = await Promise.all(reqs.map((r) => conn.client.complete(r)));
    const streams = reqs.map((r) => {
      const ids: number[] = [];
      const done = (async () => {
        for await (const d of conn.client.generate(r)) {
          expect(d.tokenOffset).toBe(ids.length);
          ids.push(...d.tokenIds);
        }
      })();
      return { ids, done };
    });
    await until(() => streams.every((s) => s.ids.length >= 3), 'first tokens');
    await h.killWorker();
    const t0 = Date.now();
    await until(async () => (await grpcStatus('readiness')) === 2, 'NOT_SERVING', 5000);
    expect(h.orch.readiness!.state.reason).toMatch(/worker/);
    expect(Date.now() - t0).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 500));
    await h.restartWorker();
    await until(async () => (await grpcStatus('readiness')) === 1, 'SERVING again', 10_000);
    await Promise.all(streams.map((s) => s.done));
    expect(streams.map((s) => s.ids)).toEqual(want.map((w) => w.choices[0].tokenIds));
    conn.close();
    await idle();
  });
});
