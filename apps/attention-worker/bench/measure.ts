/*
 * Timing helpers for the benchmark: median wall time of steps, measured round-robin across
 * several step runners so that every variant sees the same machine load (the 2-core machine is
 * shared; load swings move absolute numbers by several x within a minute, ratios much less).
 * Not a statistics package: medians only.
 */
import type { FlatBatch, KvPool } from '@llm/model';
import { decodeBatch, prefillBatch } from './workload';

export function progress(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Anything that runs a step: a StepBackend, or the GEMM-only floor graph. */
export interface StepRunner {
  forward(batch: FlatBatch, pool: KvPool): Promise<Float32Array>;
}

/** One kind of step: the batches of successive repetitions (decode advances one position per rep). */
export interface Workload {
  name: string;
  tokensPerStep: number;
  pool: KvPool;
  batch(rep: number): FlatBatch;
}

export function prefillWorkload(n: number, vocab: number, pool: KvPool, maxContext: number): Workload {
  const batch = prefillBatch(n, vocab, maxContext);
  return { name: `prefill ${n}`, tokensPerStep: n, pool, batch: () => batch };
}

export function decodeWorkload(b: number, context: number, vocab: number, pool: KvPool, maxContext: number): Workload {
  return { name: `decode batch ${b}`, tokensPerStep: b, pool, batch: (rep) => decodeBatch(b, context + rep, vocab, maxContext) };
}

/** Median ms per step of each runner: one warm-up each, then `reps` rounds of one step per runner. */
export async function roundRobinMs(runners: StepRunner[], w: Workload, reps: number): Promise<number[]> {
  return (await roundRobinTimes(runners, w, reps)).map(median);
}

/** Every timed step's ms, per runner (warm-ups excluded). */
export async function roundRobinTimes(runners: StepRunner[], w: Workload, reps: number): Promise<number[][]> {
  const times = runners.map(() => [] as number[]);
  for (const r of runners) await r.forward(w.batch(0), w.pool);
  for (let rep = 0; rep < reps; rep++) {
    const batch = w.batch(rep);
    for (let i = 0; i < runners.length; i++) {
      const t0 = nowMs();
      await runners[i].forward(batch, w.pool);
      times[i].push(nowMs() - t0);
    }
  }
  return times;
}
