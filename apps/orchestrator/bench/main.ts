/*
 * Orchestrator benchmark (`nx run orchestrator:bench`): a SmolLM-135M-shaped model on the ONNX
 * Runtime worker backend (2 threads), served
 *   embedded    - orchestrator -> in-process scheduler -> in-process kv-manager and worker
 *   distributed - gRPC client -> orchestrator (api) -> BullMQ/Redis -> scheduler role
 *                 -> gRPC kv-manager and gRPC worker (all on this machine)
 * For 1, 8 and 32 concurrent clients (greedy, 32-token prompts, 16 output tokens): output
 * tokens/s and time to first token p50/p99; each level runs embedded, distributed, distributed,
 * embedded so both modes meet the same machine load. Then the prefix-cache speed-up on a shared-prefix
 * workload (embedded: the same requests with caching defeated by distinct cache salts vs shared),
 * and the distributed/embedded throughput ratio, both measured in this run. Leases are long here
 * because the worker computes in this same process, so a long prefill step delays the renewal timer.
 * Progress goes to stderr. What it is not: a kernel benchmark (apps/attention-worker has one).
 */
import { connectGrpc, createInProcessClient, loadConfig, startGrpcServer } from '@llm/platform';
import { inference, kv, worker } from '@llm/proto';
import { startRedis } from '@llm/testing';
import { createOrchestrator, orchestratorConfigSchema, type OrchestratorConfig } from '../src';
import { kvImplementation, workerImplementation } from './services';
import { SMOLLM_135M, smolLmWorker } from './smollm';

const PROMPT_TOKENS = 32;
const OUTPUT_TOKENS = 16;
const CONCURRENCY = [1, 8, 32];

type GenerateFn = (r: inference.GenerateRequest) => AsyncIterable<inference.GenerateResponse>;

interface LoadResult {
  clients: number;
  requests: number;
  outputTokens: number;
  wallS: number;
  ttftMs: number[];
}

const progress = (msg: string) => process.stderr.write(`[orchestrator bench] ${msg}\n`);

let promptCounter = 0;
/** A distinct pseudo-random prompt (no accidental prefix-cache hits between requests). */
function prompt(n: number): number[] {
  const k = ++promptCounter;
  return Array.from({ length: n }, (_, i) => 256 + ((k * 7919 + i * 104729 + ((k * i) % 97) * 31) % 48000));
}

function request(ids: number[], maxTokens: number, cacheSalt = ''): inference.GenerateRequest {
  return inference.GenerateRequest.fromPartial({ promptTokenIds: ids, cacheSalt, sampling: { temperature: 0, maxTokens, ignoreEos: true } });
}

/** Runs one request; returns its time to first token and its output tokens. */
async function timed(gen: GenerateFn, r: inference.GenerateRequest): Promise<{ ttftMs: number; tokens: number }> {
  const t0 = performance.now();
  let ttftMs = -1;
  let tokens = 0;
  for await (const d of gen(r)) {
    if (ttftMs < 0 && d.tokenIds.length > 0) ttftMs = performance.now() - t0;
    tokens += d.tokenIds.length;
  }
  return { ttftMs, tokens };
}

async function load(gen: GenerateFn, clients: number, perClient: number): Promise<LoadResult> {
  const t0 = performance.now();
  const ttftMs: number[] = [];
  let outputTokens = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < perClient; i++) {
        const r = await timed(gen, request(prompt(PROMPT_TOKENS), OUTPUT_TOKENS));
        ttftMs.push(r.ttftMs);
        outputTokens += r.tokens;
      }
    }),
  );
  return { clients, requests: clients * perClient, outputTokens, wallS: (performance.now() - t0) / 1000, ttftMs };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** Sums two runs of the same load (for the E, D, D, E order that evens out machine load). */
function merge(a: LoadResult, b: LoadResult): LoadResult {
  return { clients: a.clients, requests: a.requests + b.requests, outputTokens: a.outputTokens + b.outputTokens, wallS: a.wallS + b.wallS, ttftMs: [...a.ttftMs, ...b.ttftMs] };
}

/** Each load level runs embedded, distributed, distributed, embedded, so both see the same machine load. */
async function runLoads(emb: GenerateFn, dist: GenerateFn): Promise<{ emb: LoadResult[]; dist: LoadResult[] }> {
  progress('warm-up (embedded, distributed)');
  await timed(emb, request(prompt(PROMPT_TOKENS), 4));
  await timed(dist, request(prompt(PROMPT_TOKENS), 4));
  const out = { emb: [] as LoadResult[], dist: [] as LoadResult[] };
  for (const c of CONCURRENCY) {
    const perClient = c === 1 ? 2 : 1;
    progress(`${c} concurrent client(s): embedded`);
    const e1 = await load(emb, c, perClient);
    progress(`${c} concurrent client(s): distributed (x2)`);
    const d1 = await load(dist, c, perClient);
    const d2 = await load(dist, c, perClient);
    progress(`${c} concurrent client(s): embedded`);
    const e2 = await load(emb, c, perClient);
    out.emb.push(merge(e1, e2));
    out.dist.push(merge(d1, d2));
  }
  return out;
}

/** Six requests, one after another, sharing a 128-token prefix; caching defeated (distinct salts) or not. */
async function prefixWorkload(gen: GenerateFn, shared: boolean): Promise<{ wallS: number; ttftMs: number[] }> {
  const prefix = prompt(128);
  const t0 = performance.now();
  const ttftMs: number[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await timed(gen, request([...prefix, ...prompt(8)], 4, shared ? 'shared' : `salt-${i}`));
    ttftMs.push(r.ttftMs);
  }
  return { wallS: (performance.now() - t0) / 1000, ttftMs };
}

function config(overrides: Partial<OrchestratorConfig>): OrchestratorConfig {
  return loadConfig(orchestratorConfigSchema, { argv: [], env: {}, overrides: { grpcPort: 0, httpPort: -1, maxNumSeqs: 64, maxNumBatchedTokens: 2048, ...overrides } });
}

const f = (x: number, d = 1) => x.toFixed(d);

function printLoads(label: string, rs: LoadResult[]): void {
  console.log(`\n${label}`);
  console.log('clients  requests  out tok/s   TTFT p50 ms  TTFT p99 ms   wall s');
  for (const r of rs) {
    console.log(`${String(r.clients).padStart(7)}  ${String(r.requests).padStart(8)}  ${f(r.outputTokens / r.wallS).padStart(9)}  ${f(pct(r.ttftMs, 50)).padStart(12)}  ${f(pct(r.ttftMs, 99)).padStart(11)}  ${f(r.wallS, 2).padStart(7)}`);
  }
}

async function main(): Promise<void> {
  progress('building the SmolLM-135M-shaped model and the ORT worker');
  const { model, dir, runner, pools } = await smolLmWorker();
  const kvImpl = kvImplementation(pools);
  const workerImpl = workerImplementation(runner, model, 'worker-0', 'smollm-135m-shape');

  const embedded = await createOrchestrator(config({ model: dir, schedulerId: 'embedded' }), {
    kv: createInProcessClient(kv.KvManagerDefinition, kvImpl), worker: createInProcessClient(worker.WorkerDefinition, workerImpl),
  });
  const embGen: GenerateFn = (r) => embedded.inference.generate(r);

  progress('distributed: Redis, gRPC kv-manager, worker and public API');
  const redis = await startRedis({ prefer: 'process' });
  const kvServer = await startGrpcServer({ port: 0, services: [{ definition: kv.KvManagerDefinition, implementation: kvImpl }] });
  const workerServer = await startGrpcServer({ port: 0, services: [{ definition: worker.WorkerDefinition, implementation: workerImpl }] });
  const kvConn = connectGrpc(kv.KvManagerDefinition, kvServer.address);
  const workerConn = connectGrpc(worker.WorkerDefinition, workerServer.address);
  const dist = await createOrchestrator(config({ model: dir, redisUrl: redis.url, queuePrefix: `bench${process.pid}`, leaseTtlMs: 300_000, schedulerId: 'distributed' }), {
    kv: kvConn.client, worker: workerConn.client,
  });
  const front = await startGrpcServer({ port: 0, services: [{ definition: inference.InferenceDefinition, implementation: dist.inference }] });
  const client = connectGrpc(inference.InferenceDefinition, front.address);

  const { emb, dist: distRes } = await runLoads(embGen, (r) => client.client.generate(r));
  progress('embedded: shared-prefix workload (no sharing, shared, shared, no sharing)');
  pools.reset('worker-0');
  const n1 = await prefixWorkload(embGen, false);
  const c1 = await prefixWorkload(embGen, true);
  const c2 = await prefixWorkload(embGen, true);
  const n2 = await prefixWorkload(embGen, false);
  const noCache = { wallS: n1.wallS + n2.wallS, ttftMs: [...n1.ttftMs, ...n2.ttftMs] };
  const cached = { wallS: c1.wallS + c2.wallS, ttftMs: [...c1.ttftMs, ...c2.ttftMs] };

  client.close();
  await front.close(100);
  await dist.close();
  await embedded.close();
  kvConn.close();
  workerConn.close();
  await workerServer.close(100);
  await kvServer.close(100);
  await redis.stop();
  await runner.dispose();

  console.log(`\nOrchestrator, SmolLM-135M shape (576 x ${SMOLLM_135M.num_hidden_layers} layers, 9/3 heads, V ${SMOLLM_135M.vocab_size}), ORT backend, 2 threads, ` +
    `${PROMPT_TOKENS}-token prompts, ${OUTPUT_TOKENS} output tokens, greedy`);
  printLoads('embedded (in-process scheduler, kv-manager, worker)', emb);
  printLoads('distributed (gRPC API -> BullMQ/Redis -> scheduler -> gRPC kv-manager + worker)', distRes);
  console.log('\ndistributed / embedded throughput');
  for (let i = 0; i < CONCURRENCY.length; i++) {
    const ratio = distRes[i].outputTokens / distRes[i].wallS / (emb[i].outputTokens / emb[i].wallS);
    console.log(`${String(CONCURRENCY[i]).padStart(7)} clients: ${f(ratio, 2)}x`);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log('\nprefix caching: 2 x 6 sequential requests, 128-token shared prefix + 8 own tokens, 4 output tokens (embedded)');
  console.log(`  no sharing (distinct cache salts): wall ${f(noCache.wallS, 2)} s, mean TTFT ${f(mean(noCache.ttftMs))} ms`);
  console.log(`  shared prefix:                     wall ${f(cached.wallS, 2)} s, mean TTFT ${f(mean(cached.ttftMs))} ms`);
  console.log(`  speed-up: ${f(noCache.wallS / cached.wallS, 2)}x wall, ${f(mean(noCache.ttftMs) / mean(cached.ttftMs), 2)}x TTFT`);
}

main().catch((err) => {
  process.stderr.write(`orchestrator bench: ${(err as Error).stack}\n`);
  process.exit(1);
});
