/*
 * Internals-trace benchmark (`nx run orchestrator:bench-trace`, also part of `orchestrator:bench`):
 * the shipped model (models/default, the addition model) on the ONNX Runtime worker backend,
 * embedded platform, requests over the OpenAI HTTP API (what the /internals page sends), one at a
 * time: "37+48="-style prompts, 4 greedy tokens.
 *   before    - tracing not allowed anywhere (plain graphs only): the untraced path as it was
 *   allowed   - --allow-trace on orchestrator and worker (traced graphs open too), untraced requests
 *   traced    - the same platform, every request with a full trace (tokenizer, attention of every
 *               layer and head, kv with pool maps, scheduler, sampling top 5)
 * Rounds run before, allowed, traced, traced, allowed, before, ... so every configuration meets the
 * same machine load; the median request latency of each gives two ratios measured in this run:
 *   traced / allowed  (goal < 2)      allowed / before  (goal: 1 within noise)
 * Progress goes to stderr. What it is not: a throughput benchmark (bench/main.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KvPools } from '@llm/kv';
import { createModelRunner, loadModelDir, type LoadedModel, type ModelRunner } from '@llm/model';
import { createInProcessClient, loadConfig } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { createOrchestrator, orchestratorConfigSchema, type Orchestrator } from '../src';
import { kvImplementation, workerImplementation } from './services';

const ROUNDS = Number(process.env.TRACE_BENCH_ROUNDS ?? 6);
const PER_ROUND = Number(process.env.TRACE_BENCH_REQUESTS ?? 40);
const TRACE = { tokenizer: true, attention: true, kv: true, scheduler: true, sampling: { top: 5 } };
const progress = (msg: string) => process.stderr.write(`[trace bench] ${msg}\n`);

interface Platform {
  orch: Orchestrator;
  runner: ModelRunner;
  base: string;
}

async function platform(model: LoadedModel, allowTrace: boolean): Promise<Platform> {
  const runner = await createModelRunner(model, { backend: 'ort', threads: 2, kvCacheBytes: 1 << 24, blockSize: 16, maxBatchSequences: 64, maxBatchTokens: 2048, traceable: allowTrace });
  const pools = new KvPools();
  pools.registerPool('bench', { numBlocks: runner.pool.numBlocks, blockSize: 16 });
  const config = loadConfig(orchestratorConfigSchema, { argv: [], env: {}, overrides: { model: model.dir, grpcPort: 0, httpPort: 0, allowTrace, logLevel: 'warn' } });
  const orch = await createOrchestrator(config, {
    kv: createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools)),
    worker: createInProcessClient(worker.WorkerDefinition, workerImplementation(runner, model, 'bench', 'default')),
  });
  return { orch, runner, base: `http://${orch.http}` };
}

let n = 0;
/** One request's latency in ms (prompts vary so no prefix-cache hit helps one configuration). */
async function request(p: Platform, traced: boolean): Promise<number> {
  const i = n++;
  const prompt = `${String(10 + (i % 90))}+${String(10 + ((i * 7) % 90))}=`;
  const t0 = performance.now();
  const res = await fetch(`${p.base}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: 4, temperature: 0, ignore_eos: true, cache_salt: String(i), ...(traced ? { trace: TRACE } : {}) }),
  });
  const body = (await res.json()) as { trace?: unknown };
  if (!res.ok || (traced && !body.trace)) throw new Error(`request failed: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return performance.now() - t0;
}

/** models/default of the repository (bench/ runs from src or dist). */
function shippedModel(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'models', 'default', 'config.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'models', 'default');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const model = await loadModelDir(shippedModel());
  progress('starting the platforms (before: plain graphs; allowed: plain + traced graphs)');
  const before = await platform(model, false);
  const allowed = await platform(model, true);
  const runs = { before: [] as number[], allowed: [] as number[], traced: [] as number[] };
  const order: Array<keyof typeof runs> = ['before', 'allowed', 'traced', 'traced', 'allowed', 'before'];
  for (const k of ['before', 'allowed', 'traced'] as const) for (let i = 0; i < 20; i++) await request(k === 'before' ? before : allowed, k === 'traced'); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const k = order[r % order.length];
    for (let i = 0; i < PER_ROUND; i++) runs[k].push(await request(k === 'before' ? before : allowed, k === 'traced'));
    progress(`round ${r + 1}/${ROUNDS} (${k}): median ${median(runs[k]).toFixed(2)} ms over ${runs[k].length} requests`);
  }
  const m = { before: median(runs.before), allowed: median(runs.allowed), traced: median(runs.traced) };
  const lines = [
    `internals-trace bench: shipped model (models/default), ORT backend, embedded, HTTP, 4 greedy tokens, ${ROUNDS * PER_ROUND} timed requests`,
    `  median latency  before ${m.before.toFixed(2)} ms   allowed (untraced) ${m.allowed.toFixed(2)} ms   traced ${m.traced.toFixed(2)} ms`,
    `  traced / untraced       ${(m.traced / m.allowed).toFixed(2)}x   (goal < 2x)`,
    `  untraced / before       ${(m.allowed / m.before).toFixed(2)}x   (goal 1x within noise)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const p of [before, allowed]) {
    await p.orch.close();
    await p.runner.dispose();
  }
}

main().catch((err) => {
  process.stderr.write(`[trace bench] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
