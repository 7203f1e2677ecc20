/*
 * What the quantization bench runs: a SmolLM-135M-shaped llama with random weights (hidden 576,
 * 30 layers, 9/3 heads, intermediate 1536, vocab 49152, tied head), its KV pool, decode and
 * prefill batches, and a median-of-rounds timer that runs every variant once per round, so each
 * sees the same machine load. Not a model file: nothing is read from disk.
 * Shape per HuggingFaceTB/SmolLM-135M's config.json.
 */
import { loadavg } from 'node:os';
import { SMOLLM_135M, smolLmShape, type ModelConfig, type ModelWeights } from '../src';

export { SMOLLM_135M, benchPool, decodeBatch, prefillBatch } from '../src';

export function smolLm(seed = 1): { config: ModelConfig; weights: ModelWeights } {
  return smolLmShape(SMOLLM_135M.num_hidden_layers, seed);
}

export const progress = (msg: string): void => void process.stderr.write(`[quant bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
export const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of each runner: one warm-up each, then `rounds` rounds of one call per runner. */
export async function roundRobin(runners: Array<(round: number) => Promise<unknown>>, rounds: number): Promise<number[]> {
  const times = runners.map(() => [] as number[]);
  for (const r of runners) await r(-1);
  for (let k = 0; k < rounds; k++) {
    for (let i = 0; i < runners.length; i++) {
      const t0 = nowMs();
      await runners[i](k);
      times[i].push(nowMs() - t0);
    }
  }
  return times.map(median);
}
