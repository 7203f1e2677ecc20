/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * OrtBackend with `offThread` (the segments on worker threads, their pools resident there) against
 * the same backend on the main thread: random mixed prefill/decode scenarios give identical
 * logits and identical pools (the main-thread mirror), including copy-on-write block copies
 * replayed between steps, an MoE model's several segments, a pool swapped for another, and a
 * traced step in the middle (which writes the main pool only, so the threads re-upload it).
 */
import fc from 'fast-check';
import { initRandomModel } from '../init-random';
import { applyBlockCopies } from '../runner/kv-pool';
import { ReferenceMoeExecutor } from '../transformer/moe';
import type { ForwardTrace } from '../runner/trace-types';
import type { FlatBatch, KvPool } from '../runner/types';
import { OrtBackend } from './ort-backend';
import { maxAbsDiff, scenarioBatches, scenarioPool, type ScenarioOptions } from './testing-scenario';

/** Replays batches; before step i > 0, copies block 1 + i onto block numBlocks - i (a copy-on-write as the runner does it). */
async function replay(be: OrtBackend, batches: FlatBatch[], pool: KvPool): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < batches.length; i++) {
    if (i > 0) {
      const copies = [{ src: 1 + i, dst: pool.numBlocks - i }];
      applyBlockCopies(pool, copies);
      await be.applyBlockCopies(pool, copies);
    }
    out.push(await be.forward(batches[i], pool));
  }
  return out;
}

function samePools(a: KvPool, b: KvPool): void {
  for (let l = 0; l < a.numLayers; l++) {
    expect(maxAbsDiff(a.k[l], b.k[l])).toBe(0);
    expect(maxAbsDiff(a.v[l], b.v[l])).toBe(0);
  }
}

describe('OrtBackend off the event loop', () => {
  it.each(['llama', 'mixtral'] as const)('%s: same logits and pools as on the main thread', async (arch) => {
    const model = initRandomModel(arch, {}, 5);
    const c = model.config;
    const moe = c.numExperts > 0 ? new ReferenceMoeExecutor(c, model.weights) : undefined;
    const main = await OrtBackend.create(model, { threads: 1, moeExecutor: moe });
    const off = await OrtBackend.create(model, { threads: 1, moeExecutor: moe, offThread: true });
    expect(off.offThread).toBe(true);
    expect(main.offThread).toBe(false);
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4 }), async (seed, numSeqs) => {
          // Both backends see the same copies, so a block a copy clobbers is clobbered alike and the comparison stays exact.
          const o: ScenarioOptions = { seed, numSeqs, maxPrompt: 13, steps: 5, vocabSize: c.vocabSize, blockSize: 4, numBlocks: 40 };
          const batches = scenarioBatches(o);
          const poolMain = scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim);
          const poolOff = scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim);
          const want = await replay(main, batches, poolMain);
          const got = await replay(off, batches, poolOff);
          batches.forEach((_, i) => expect(maxAbsDiff(got[i], want[i])).toBe(0));
          samePools(poolOff, poolMain);
        }),
        { numRuns: 4 },
      );
    } finally {
      await main.dispose();
      await off.dispose();
    }
  });

  it('re-uploads the pool after a traced step, which ran on the main thread', async () => {
    const model = initRandomModel('llama', {}, 9);
    const c = model.config;
    const main = await OrtBackend.create(model, { threads: 1 });
    const off = await OrtBackend.create(model, { threads: 1, offThread: true, traceable: true });
    try {
      const o: ScenarioOptions = { seed: 3, numSeqs: 2, maxPrompt: 9, steps: 6, vocabSize: c.vocabSize, blockSize: 4, numBlocks: 40 };
      const batches = scenarioBatches(o);
      const poolMain = scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim);
      const poolOff = scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim);
      for (let i = 0; i < batches.length; i++) {
        const want = await main.forward(batches[i], poolMain);
        const trace: ForwardTrace | undefined = i === 2 ? { select: new Map([[0, { layers: new Set([0]), heads: [0], moe: false }]]), attention: [], moe: [] } : undefined;
        const got = await off.forward(batches[i], poolOff, trace ? { trace } : undefined);
        if (trace) expect(trace.attention.length).toBeGreaterThan(0);
        expect(maxAbsDiff(got, want)).toBeLessThan(1e-5); // the traced graph may fuse differently
      }
      for (let l = 0; l < c.numLayers; l++) expect(maxAbsDiff(poolOff.k[l], poolMain.k[l])).toBeLessThan(1e-5);
    } finally {
      await main.dispose();
      await off.dispose();
    }
  });
});
