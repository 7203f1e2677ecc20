/*
 * Distributed intake end to end: the api role in this process (BullMQ + Redis delta streams), a
 * kv-manager and two workers served over gRPC from the pure libs, and scheduler roles as real
 * child processes. Checks bounded admission (RESOURCE_EXHAUSTED at once beyond
 * max_queued_requests), and that killing a scheduler process mid-run (SIGKILL, the api stays)
 * loses no accepted request: another scheduler resumes each one from the tokens already produced,
 * the client's stream has no gap and no duplicate, the tokens equal the reference, and the dead
 * scheduler's blocks are freed by the kv-manager's lease expiry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { KvPools } from '@llm/kv';
import { generate, loadModelDir, Transformer, type LoadedModel } from '@llm/model';
import { createInProcessClient, startGrpcServer, type RunningGrpcServer } from '@llm/platform';
import { inference, kv, worker } from '@llm/proto';
import { startRedis, type StartedRedis } from '@llm/testing';
import IORedis from 'ioredis';
import { createOrchestrator, type Orchestrator } from '../src';
import { expectPoolWhole, kvImplementation, modelDir, startTestWorker, testConfig, workerImplementation, type TestWorker } from './support/platform';

jest.setTimeout(120_000);

const PREFIX = `t${process.pid}`;
const MAX_TOKENS = 64;
let redis: StartedRedis;
let model: LoadedModel;
let pools: KvPools;
let sweep: NodeJS.Timeout;
let kvServer: RunningGrpcServer;
const workers: { w: TestWorker; server: RunningGrpcServer }[] = [];
let api: Orchestrator;
const children: ChildProcess[] = [];

/** Slows each step a little so a scheduler can be killed mid-run. */
function slowed(impl: ReturnType<typeof workerImplementation>) {
  return { ...impl, step: async (req: worker.StepRequest) => {
    await new Promise((r) => setTimeout(r, 10));
    return impl.step(req, {} as never);
  } };
}

beforeAll(async () => {
  // A redis-server process unless LLM_TEST_REDIS=container asks for the container path.
  redis = await startRedis({ prefer: (process.env.LLM_TEST_REDIS as 'container' | 'process' | undefined) ?? 'process' });
  model = await loadModelDir(modelDir());
  pools = new KvPools();
  sweep = setInterval(() => pools.expireLeases(), 100);
  kvServer = await startGrpcServer({ port: 0, services: [{ definition: kv.KvManagerDefinition, implementation: kvImplementation(pools) }] });
  for (const id of ['worker-a', 'worker-b']) {
    const w = await startTestWorker(model, pools, id, 240, 4);
    const server = await startGrpcServer({ port: 0, services: [{ definition: worker.WorkerDefinition, implementation: slowed(workerImplementation(w.runner, model, id)) }] });
    workers.push({ w, server });
  }
  const kvClient = createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools));
  api = await createOrchestrator(testConfig({ role: 'api', redisUrl: redis.url, queuePrefix: PREFIX, maxQueuedRequests: 4 }), { kv: kvClient, worker: workers[0].w.client });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await api?.close();
  for (const { w, server } of workers) {
    await server.close(100);
    await w.runner.dispose();
  }
  await kvServer?.close(100);
  clearInterval(sweep);
  await redis?.stop();
});

function startScheduler(workerIndex: number, id: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(__dirname, 'support/ts-child.js'), join(__dirname, 'support/scheduler-process.ts')], {
    env: {
      ...process.env, LLM_REDIS_URL: redis.url, LLM_KV_MANAGER_ADDRESS: kvServer.address, LLM_WORKER_ADDRESS: workers[workerIndex].server.address,
      LLM_MODEL: modelDir(), LLM_SCHEDULER_ID: id, LLM_QUEUE_PREFIX: PREFIX, LLM_LEASE_TTL_MS: '1000', LLM_STALLED_INTERVAL_MS: '300', LLM_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => b.toString().includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`scheduler ${id} exited with ${code} before it was ready`)));
  });
}

async function leaseHolder(poolId: string): Promise<string | null> {
  const r = new IORedis(redis.url);
  try {
    return await r.get(`${PREFIX}:lease:worker:${poolId}`);
  } finally {
    r.disconnect();
  }
}

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Client {
  deltas: inference.GenerateResponse[];
  done: Promise<void>;
}

function startClient(prompt: number[]): Client {
  const deltas: inference.GenerateResponse[] = [];
  const r = inference.GenerateRequest.fromPartial({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: MAX_TOKENS, ignoreEos: true } });
  const done = (async () => {
    for await (const d of api.inference.generate(r)) deltas.push(d);
  })();
  return { deltas, done };
}

it('refuses requests beyond max_queued_requests at once, and a killed scheduler loses nothing', async () => {
  const transformer = new Transformer(model.config, model.weights);
  const prompts: number[][] = [];
  const refs: number[][] = [];
  for (let seed = 0; prompts.length < 4 && seed < 80; seed++) {
    const prompt = Array.from({ length: 8 }, (_, i) => (seed * 41 + i * 13 + 7) % 380);
    const ref = await generate(transformer, prompt, { maxTokens: MAX_TOKENS, sampling: { temperature: 0 } });
    if (Math.min(...ref.margins) <= 1e-3) continue;
    prompts.push(prompt);
    refs.push(ref.tokens);
  }
  expect(prompts).toHaveLength(4);

  // No scheduler yet: four requests fill the queue, a fifth is refused at once.
  const clients = prompts.map(startClient);
  const probe = new IORedis(redis.url);
  await until(async () => (await probe.keys(`${PREFIX}:generate:*`)).length > 0, 'jobs in the queue').finally(() => probe.disconnect());
  await new Promise((r) => setTimeout(r, 200));
  const extra = inference.GenerateRequest.fromPartial({ prompt: 'hi', sampling: { maxTokens: 2 } });
  await expect((async () => { for await (const _ of api.inference.generate(extra)) void _; })()).rejects.toMatchObject({ code: 8 });

  // Scheduler A takes worker-a and starts; kill it after every client has seen some tokens.
  const a = await startScheduler(0, 'sched-a');
  await until(() => clients.every((c) => c.deltas.length >= 3), 'first tokens from scheduler A');
  expect(await leaseHolder('worker-a')).toBe('sched-a');
  a.kill('SIGKILL');
  const seenBeforeKill = clients.map((c) => c.deltas.length);
  expect(seenBeforeKill.some((n) => n < MAX_TOKENS)).toBe(true);

  // Scheduler B drives worker-b; the stalled jobs come back to it and resume.
  await startScheduler(1, 'sched-b');
  await Promise.all(clients.map((c) => c.done));
  clients.forEach((c, i) => {
    let offset = 0;
    for (const d of c.deltas) {
      expect(d.tokenOffset).toBe(offset); // no gap, no duplicate
      offset += d.tokenIds.length;
    }
    expect(c.deltas.flatMap((d) => d.tokenIds)).toEqual(refs[i]);
    expect(c.deltas[c.deltas.length - 1].usage?.completionTokens).toBe(MAX_TOKENS);
  });

  // B resumed from the tokens in each stream instead of starting over: no offset was written twice.
  const reader = new IORedis(redis.url);
  for (const c of clients) {
    const entries = await reader.xrange(`${PREFIX}:gen:${c.deltas[0].requestId}:deltas`, '-', '+');
    const keys = entries.map(([, f]) => JSON.parse(f[1]) as inference.GenerateResponse).map((d) => `${d.index}:${d.tokenOffset}`);
    expect(new Set(keys).size).toBe(keys.length);
  }
  reader.disconnect();

  // The dead scheduler's sequences are freed when its kv-manager lease expires; B's pool is whole too.
  await until(() => pools.stats('worker-a').numSequences === 0, 'lease expiry of sched-a');
  expectPoolWhole(pools, 'worker-a');
  await new Promise((r) => setTimeout(r, 100));
  expectPoolWhole(pools, 'worker-b');
  expect(pools.numSequencesExpiredTotal).toBeGreaterThan(0);
});
