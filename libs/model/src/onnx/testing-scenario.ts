/*
 * Randomised serving scenarios for backend parity tests: sequences with random prompts on
 * randomly placed pool blocks, driven through steps that mix chunked prefill and decode, as
 * FlatBatches. Any StepBackend can replay the same scenario on its own pool.
 * Not a scheduler: no budgets or preemption, only the batch shapes a scheduler produces.
 */
import { createRng } from '@llm/tensor';
import { createKvPool } from '../runner/kv-pool';
import type { FlatBatch, KvPool } from '../runner/types';

export interface ScenarioOptions {
  seed: number;
  numSeqs: number;
  maxPrompt: number;
  steps: number;
  vocabSize: number;
  blockSize: number;
  numBlocks: number;
}

interface SeqPlan {
  tokens: number[];
  promptLen: number;
  computed: number;
  blocks: number[];
}

/** Steps of one scenario, deterministic in opts.seed. */
export function scenarioBatches(o: ScenarioOptions): FlatBatch[] {
  const rng = createRng(o.seed);
  const randInt = (lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1)); // [lo, hi]
  const free = Array.from({ length: o.numBlocks - 1 }, (_, i) => i + 1).sort(() => rng.next() - 0.5);
  const seqs: SeqPlan[] = Array.from({ length: o.numSeqs }, () => {
    const promptLen = randInt(1, o.maxPrompt);
    return { tokens: Array.from({ length: promptLen }, () => randInt(0, o.vocabSize - 1)), promptLen, computed: 0, blocks: [] };
  });
  const batches: FlatBatch[] = [];
  for (let step = 0; step < o.steps; step++) {
    const ids: number[] = [];
    const positions: number[] = [];
    const slots: number[] = [];
    const logitRows: number[] = [];
    const flatSeqs: FlatBatch['seqs'] = [];
    for (const s of seqs) {
      if (step > 0 && rng.next() < 0.2) continue; // sometimes a sequence sits a step out
      if (s.computed >= s.tokens.length) s.tokens.push(randInt(0, o.vocabSize - 1)); // decode: one new token
      const n = s.computed < s.promptLen ? randInt(1, s.promptLen - s.computed) : 1;
      const contextLen = s.computed + n;
      while (s.blocks.length * o.blockSize < contextLen) {
        const b = free.pop();
        if (b === undefined) throw new Error('scenario: pool too small; raise numBlocks');
        s.blocks.push(b);
      }
      const start = ids.length;
      for (let t = 0; t < n; t++) {
        const p = s.computed + t;
        ids.push(s.tokens[p]);
        positions.push(p);
        slots.push(s.blocks[Math.floor(p / o.blockSize)] * o.blockSize + (p % o.blockSize));
      }
      if (rng.next() < 0.8) logitRows.push(start + n - 1); // a prefill chunk may sample nothing
      if (n > 2 && rng.next() < 0.3) logitRows.push(start); // and some steps ask for an earlier row too
      flatSeqs.push({ start, numNewTokens: n, contextLen, blockTable: Int32Array.from(s.blocks) });
      s.computed = contextLen;
    }
    if (flatSeqs.length === 0) continue;
    batches.push({
      tokenIds: Int32Array.from(ids),
      positions: Int32Array.from(positions),
      slotMapping: Int32Array.from(slots),
      seqs: flatSeqs,
      logitRows: Int32Array.from(logitRows),
    });
  }
  return batches;
}

/** A zeroed pool for a scenario. */
export function scenarioPool(o: ScenarioOptions, numLayers: number, numKvHeads: number, headDim: number): KvPool {
  return createKvPool({ numBlocks: o.numBlocks, blockSize: o.blockSize, numLayers, numKvHeads, headDim });
}

/** Largest |a - b| over two equally long arrays (Infinity when lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
