/*
 * Observability overhead (`nx run orchestrator:bench-observability`, also part of `bench`): the
 * orchestrator bench's distributed configuration (gRPC API -> BullMQ/Redis -> scheduler -> gRPC
 * kv-manager and worker, SmolLM-135M shape on ONNX Runtime, 2 threads) under one fixed load, in
 * phases off, on, on, off (repeated BENCH_ROUNDS times, default 2) in one process, so that every
 * phase meets the same model, memory and machine:
 *
 *   off  tracing off (the first phase runs before the SDK was ever loaded; later ones with it shut
 *        down: every helper returns at its first line), /metrics not scraped
 *   on   tracing on (OTLP http/protobuf to an in-memory receiver, every span exported) and the
 *        /metrics port scraped every second by a separate process
 *
 * Metrics are updated in every phase (they cannot be turned off). Prints per phase output tokens/s,
 * TTFT, and the main thread's busy time and the process's CPU time per output token (steadier than
 * wall time on a shared machine), then the on/off ratios against the target of staying within 3%
 * (throughput ratio >= 0.97). Progress on stderr.
 * What it is not: a throughput benchmark of the platform (bench/main.ts is).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connectGrpc, loadConfig, startGrpcServer, startMetricsServer, startTracing } from '@llm/platform';
import { inference, kv, worker } from '@llm/proto';
import { startOtlpReceiver, startRedis } from '@llm/testing';
import { createOrchestrator, orchestratorConfigSchema } from '../src';
import { kvImplementation, workerImplementation } from './services';
import { smolLmWorker } from './smollm';

const PROMPT_TOKENS = 32;
const OUTPUT_TOKENS = 16;
const CLIENTS = 8;
const PER_CLIENT = 6;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const ORDER = Array.from({ length: ROUNDS }, () => ['off', 'on', 'on', 'off'] as const).flat();

interface PhaseResult {
  mode: 'on' | 'off';
  outputTokens: number;
  wallS: number;
  ttftMs: number[];
  /** Main-thread (event loop) busy time and process CPU time during the load, ms. */
  loopMs: number;
  cpuMs: number;
  spans: number;
  scrapes: number;
}

const progress = (msg: string) => process.stderr.write(`[observability bench] ${msg}\n`);

let promptCounter = 0;
function prompt(n: number): number[] {
  const k = ++promptCounter;
  return Array.from({ length: n }, (_, i) => 256 + ((k * 7919 + i * 104729 + ((k * i) % 97) * 31) % 48000));
}

/** A separate process that GETs `url` every second and prints how many answers it got when told to stop. */
function scraper(url: string): { stop(): Promise<number> } {
  const code = `let n=0;const t=setInterval(()=>fetch(${JSON.stringify(url)}).then(r=>r.text()).then(()=>n++,()=>{}),1000);process.stdin.on('end',()=>{clearInterval(t);process.stdout.write(String(n));process.exit(0)});process.stdin.resume();`;
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  return {
    async stop() {
      child.stdin?.end();
      await new Promise((r) => child.once('exit', r));
      return Number(out);
    },
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main(): Promise<void> {
  progress('building the SmolLM-135M-shaped model, the gRPC kv-manager and worker, Redis and the orchestrator');
  const redis = await startRedis({ prefer: 'process' });
  const otlp = await startOtlpReceiver();
  Object.assign(process.env, otlp.env('orchestrator-bench')); // read by startTracing in the on phases
  const metrics = await startMetricsServer({ port: 0, name: 'bench' });
  const { model, dir, runner, pools } = await smolLmWorker();
  const kvServer = await startGrpcServer({ port: 0, services: [{ definition: kv.KvManagerDefinition, implementation: kvImplementation(pools) }] });
  const workerServer = await startGrpcServer({ port: 0, services: [{ definition: worker.WorkerDefinition, implementation: workerImplementation(runner, model, 'worker-0', 'smollm') }] });
  const kvConn = connectGrpc(kv.KvManagerDefinition, kvServer.address);
  const workerConn = connectGrpc(worker.WorkerDefinition, workerServer.address);
  const config = loadConfig(orchestratorConfigSchema, {
    argv: [], env: {},
    overrides: { model: dir, grpcPort: 0, httpPort: -1, redisUrl: redis.url, queuePrefix: `obs${process.pid}`, leaseTtlMs: 300_000, schedulerId: 'obs', maxNumSeqs: 64, maxNumBatchedTokens: 2048 },
  });
  const orch = await createOrchestrator(config, { kv: kvConn.client, worker: workerConn.client });
  const front = await startGrpcServer({ port: 0, services: [{ definition: inference.InferenceDefinition, implementation: orch.inference }] });
  const client = connectGrpc(inference.InferenceDefinition, front.address);
  const one = async (maxTokens: number): Promise<{ ttftMs: number; tokens: number }> => {
    const t0 = performance.now();
    let ttftMs = -1;
    let tokens = 0;
    for await (const d of client.client.generate({ promptTokenIds: prompt(PROMPT_TOKENS), sampling: { temperature: 0, maxTokens, ignoreEos: true } })) {
      if (ttftMs < 0 && d.tokenIds.length > 0) ttftMs = performance.now() - t0;
      tokens += d.tokenIds.length;
    }
    return { ttftMs, tokens };
  };
  progress('warm-up');
  await one(4);
  await Promise.all(Array.from({ length: CLIENTS }, () => one(OUTPUT_TOKENS)));

  const results: PhaseResult[] = [];
  for (const [i, mode] of ORDER.entries()) {
    progress(`phase ${i + 1}/${ORDER.length}: observability ${mode} (${CLIENTS} clients x ${PER_CLIENT} requests, ${PROMPT_TOKENS} + ${OUTPUT_TOKENS} tokens)`);
    // Before the next request: the scheduler loop, started outside any request, follows no phase's context.
    const tracing = mode === 'on' ? await startTracing('orchestrator-bench') : undefined;
    const scrape = mode === 'on' ? scraper(`http://${metrics?.address}/metrics`) : undefined;
    const spans0 = otlp.spans.length;
    const t0 = performance.now();
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const ttftMs: number[] = [];
    let outputTokens = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let k = 0; k < PER_CLIENT; k++) {
          const r = await one(OUTPUT_TOKENS);
          ttftMs.push(r.ttftMs);
          outputTokens += r.tokens;
        }
      }),
    );
    const wallS = (performance.now() - t0) / 1000;
    const loopMs = performance.eventLoopUtilization(elu0).active;
    const cpu = process.cpuUsage(cpu0);
    const scrapes = (await scrape?.stop()) ?? 0;
    await tracing?.shutdown(); // exports what is left, then tracing is off again
    results.push({ mode, outputTokens, wallS, ttftMs, loopMs, cpuMs: (cpu.user + cpu.system) / 1000, spans: otlp.spans.length - spans0, scrapes });
  }

  client.close();
  await front.close(100);
  await orch.close();
  kvConn.close();
  workerConn.close();
  await workerServer.close(100);
  await kvServer.close(100);
  await metrics?.close();
  await otlp.close();
  await redis.stop();
  await runner.dispose();

  const f = (x: number, d = 1) => x.toFixed(d);
  console.log('\nObservability overhead: orchestrator bench, distributed (gRPC API -> BullMQ -> scheduler -> gRPC kv + worker), SmolLM-135M shape, ORT 2 threads');
  console.log('phase  mode  out tok/s   TTFT p50 ms  loop ms/tok  CPU ms/tok  spans exported  scrapes');
  results.forEach((r, i) =>
    console.log(
      `${String(i + 1).padStart(5)}  ${r.mode.padEnd(4)}  ${f(r.outputTokens / r.wallS).padStart(9)}  ${f(pct(r.ttftMs, 50)).padStart(12)}  ${f(r.loopMs / r.outputTokens, 2).padStart(11)}  ${f(r.cpuMs / r.outputTokens, 2).padStart(10)}  ${String(r.spans).padStart(14)}  ${String(r.scrapes).padStart(7)}`,
    ),
  );
  const of = (mode: string) => results.filter((r) => r.mode === mode);
  const throughput = (rs: PhaseResult[]) => rs.reduce((a, r) => a + r.outputTokens, 0) / rs.reduce((a, r) => a + r.wallS, 0);
  const perToken = (rs: PhaseResult[], key: 'loopMs' | 'cpuMs') => rs.reduce((a, r) => a + r[key], 0) / rs.reduce((a, r) => a + r.outputTokens, 0);
  const ratio = throughput(of('on')) / throughput(of('off'));
  console.log(`\nthroughput on/off: ${f(ratio, 3)} (target >= 0.970, within 3%): ${ratio >= 0.97 ? 'within' : 'OUTSIDE'}`);
  console.log(`TTFT p50 on/off: ${f(pct(of('on').flatMap((r) => r.ttftMs), 50) / pct(of('off').flatMap((r) => r.ttftMs), 50), 3)}`);
  console.log(`main-thread busy time per token on/off: ${f(perToken(of('on'), 'loopMs') / perToken(of('off'), 'loopMs'), 3)}; CPU time per token on/off: ${f(perToken(of('on'), 'cpuMs') / perToken(of('off'), 'cpuMs'), 3)}`);
}

main().catch((err) => {
  process.stderr.write(`observability bench: ${(err as Error).stack}\n`);
  process.exit(1);
});
