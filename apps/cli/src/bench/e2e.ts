/*
 * The end-to-end section of `llm bench`: a real `llm serve` (embedded, or --distributed: five
 * processes and Redis) started as a child process of this same CLI, driven over its public gRPC
 * API by C concurrent streaming clients (greedy, ignore EOS, fixed prompt and output lengths).
 * Per level: aggregate output tokens/s (first request sent to last stream closed), time to first
 * token p50/p99 and inter-token latency p50/p99 (gaps between streamed deltas, divided among the
 * tokens a delta carries), and the CPU time each server process spent per output token (Linux: /proc,
 * proc-cpu.ts; steadier than the rates on a shared machine). Then the burst: `burst` clients sending `burstPrompt`-token prompts at
 * the same instant, whose TTFT p50 the report compares with the time the kernel's prefill rate
 * needs for all of the prompts.
 *
 * The server runs in its own process, so the clients' bookkeeping (this process) is not on the
 * server's event loop; they share the machine's cores, which the report's load average shows.
 * Not a load generator for capacity planning: fixed lengths, no arrival process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { cpuBetween, cpuSnapshot } from './proc-cpu';

export interface E2ePlan {
  modelDir: string;
  clients: number[];
  promptTokens: number;
  outputTokens: number;
  burst: number;
  burstPrompt: number;
  threads: number;
  kvCacheGib: number;
  vocabSize: number;
  extraServeArgs: string[];
  /** The `llm` entry point to start (bin/llm.js, which runs the compiled CLI). */
  cliEntry: string;
}

export interface LoadLevel {
  clients: number;
  outputTokens: number;
  wallS: number;
  ttftMs: number[];
  itlMs: number[];
  /** CPU seconds each process of the served platform spent during the level (Linux; proc-cpu.ts). */
  cpuS?: Record<string, number>;
}

/**
 * embedded-loop: embedded with the worker's sessions on the event loop's thread (--ort-main-thread, the old path);
 * embedded-async: embedded with --async-scheduling on (off by default there);
 * embedded-sync / distributed-sync: one step at a time (--async-scheduling off).
 */
export type E2eMode = 'embedded' | 'distributed' | 'embedded-loop' | 'embedded-async' | 'embedded-sync' | 'distributed-sync';

/** The `llm serve` flags of each mode. */
const MODE_ARGS: Record<E2eMode, string[]> = {
  embedded: [],
  distributed: ['--distributed'],
  'embedded-loop': ['--ort-main-thread'],
  'embedded-async': ['--async-scheduling', 'on'],
  'embedded-sync': ['--async-scheduling', 'off'],
  'distributed-sync': ['--distributed', '--async-scheduling', 'off'],
};

export interface E2eResult {
  mode: E2eMode;
  levels: LoadLevel[];
  burst?: LoadLevel;
}

type Gen = (r: inference.GenerateRequest) => AsyncIterable<inference.GenerateResponse>;

let promptCounter = 0;
/** A distinct pseudo-random prompt (no accidental prefix-cache hits between requests). */
function prompt(n: number, vocab: number): number[] {
  const k = ++promptCounter;
  const lo = Math.min(256, vocab - 1);
  return Array.from({ length: n }, (_, i) => lo + ((k * 7919 + i * 104729 + ((k * i) % 97) * 31) % Math.max(1, vocab - lo - 1)));
}

function request(ids: number[], maxTokens: number): inference.GenerateRequest {
  return inference.GenerateRequest.fromPartial({ promptTokenIds: ids, sampling: { temperature: 0, maxTokens, ignoreEos: true } });
}

/** One streamed request: TTFT, inter-token gaps, tokens. */
async function stream(gen: Gen, r: inference.GenerateRequest, into: LoadLevel): Promise<void> {
  const t0 = performance.now();
  let last = -1;
  for await (const d of gen(r)) {
    const n = d.tokenIds.length;
    if (n === 0) continue;
    const now = performance.now();
    if (last < 0) into.ttftMs.push(now - t0);
    else for (let i = 0; i < n; i++) into.itlMs.push((now - last) / n);
    last = now;
    into.outputTokens += n;
  }
}

async function level(gen: Gen, clients: number, promptTokens: number, outputTokens: number, vocab: number, serverPid?: number): Promise<LoadLevel> {
  const out: LoadLevel = { clients, outputTokens: 0, wallS: 0, ttftMs: [], itlMs: [] };
  const reqs = Array.from({ length: clients }, () => request(prompt(promptTokens, vocab), outputTokens)); // built before the clock
  const cpu0 = serverPid === undefined ? undefined : cpuSnapshot(serverPid);
  const t0 = performance.now();
  await Promise.all(reqs.map((r) => stream(gen, r, out)));
  out.wallS = (performance.now() - t0) / 1000;
  const cpu1 = cpu0 && serverPid !== undefined ? cpuSnapshot(serverPid) : undefined;
  if (cpu0 && cpu1) out.cpuS = cpuBetween(cpu0, cpu1);
  return out;
}

export interface Served {
  child: ChildProcess;
  grpc: string;
}

/** Starts `llm serve` (this CLI's own entry point) and waits for its banner's gRPC address. */
export async function startServe(plan: E2ePlan, mode: E2eMode, progress: (s: string) => void): Promise<Served> {
  const args = [plan.cliEntry, 'serve', '--model', plan.modelDir, '--grpc-port', '0', '--http-port', '-1', '--threads', String(plan.threads),
    '--kv-cache-gib', String(plan.kvCacheGib), '--max-num-seqs', '64', '--log-level', 'warn', ...MODE_ARGS[mode], ...plan.extraServeArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let out = '';
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
    for (const line of b.toString().split('\n')) if (line.startsWith('[serve]')) progress(`  ${line}`);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`llm serve did not print its address within 300 s; its stderr ended with: ${err.slice(-400)}`));
    }, 300_000);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /gRPC\s+(\S+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, grpc: m[1] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`llm serve exited (code ${code}) before serving; its stderr ended with: ${err.slice(-400)}`));
    });
  });
}

export async function stopServe(s: Served): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
  s.child.kill('SIGINT');
  const t = setTimeout(() => s.child.kill('SIGINT'), 30_000); // the second signal stops at once
  await exited;
  clearTimeout(t);
}

/** Every load level, then the burst, against one served platform. */
export async function runE2e(plan: E2ePlan, mode: E2eMode, progress: (s: string) => void): Promise<E2eResult> {
  progress(`end to end (${mode}): starting llm serve ${MODE_ARGS[mode].join(' ')}`);
  const served = await startServe(plan, mode, progress);
  const conn = connectGrpc(inference.InferenceDefinition, served.grpc, { deadlineMs: 600_000 });
  const gen: Gen = (r) => conn.client.generate(r);
  try {
    progress(`end to end (${mode}): warm-up`);
    await level(gen, 2, plan.promptTokens, 4, plan.vocabSize);
    const levels: LoadLevel[] = [];
    for (const c of plan.clients) {
      progress(`end to end (${mode}): ${c} streaming client(s), ${plan.promptTokens}-token prompts, ${plan.outputTokens} output tokens`);
      levels.push(await level(gen, c, plan.promptTokens, plan.outputTokens, plan.vocabSize, served.child.pid));
    }
    let burst: LoadLevel | undefined;
    if (plan.burst > 0) {
      progress(`end to end (${mode}): burst of ${plan.burst} clients with ${plan.burstPrompt}-token prompts at once`);
      burst = await level(gen, plan.burst, plan.burstPrompt, 2, plan.vocabSize);
    }
    return { mode, levels, burst };
  } finally {
    conn.close();
    await stopServe(served);
  }
}
