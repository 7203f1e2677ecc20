/*
 * Timing helpers for the benchmark: median wall time of a step over repetitions, tokens/s of
 * prefill and batched decode on a StepBackend, and progress lines on stderr.
 * Not a statistics package: medians only, no confidence intervals.
 */
import type { KvPool, StepBackend } from '@llm/model';
import { decodeBatch, prefillBatch } from './workload';

export function progress(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of `reps` prefill steps of n tokens (after one warm-up). */
export async function prefillMs(be: StepBackend, pool: KvPool, n: number, vocab: number, maxContext: number, reps: number): Promise<number> {
  const batch = prefillBatch(n, vocab, maxContext);
  await be.forward(batch, pool);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = nowMs();
    await be.forward(batch, pool);
    times.push(nowMs() - t0);
  }
  return median(times);
}

/** Median ms of decode steps of b sequences, contexts context, context+1, ... (after 2 warm-ups). */
export async function decodeMs(
  be: StepBackend,
  pool: KvPool,
  b: number,
  context: number,
  steps: number,
  vocab: number,
  maxContext: number,
): Promise<number> {
  for (let i = 0; i < 2; i++) await be.forward(decodeBatch(b, context, vocab, maxContext), pool);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const batch = decodeBatch(b, context + i, vocab, maxContext);
    const t0 = nowMs();
    await be.forward(batch, pool);
    times.push(nowMs() - t0);
  }
  return median(times);
}
