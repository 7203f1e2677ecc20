/* createModelRunner: pool sized from the byte budget, MoE models get in-process experts, and a
 * sliding window lowers the context limit (hand-worked numbers). */
import { initRandomModel } from '../init-random';
import { createModelRunner } from './create-runner';
import { RunnerError } from './errors';

const opts = { backend: 'ts' as const, threads: 1, blockSize: 8, maxBatchSequences: 4, maxBatchTokens: 64 };

describe('createModelRunner', () => {
  it('sizes the pool as floor(bytes / (2 * L * blockSize * NKV * HS * 4))', async () => {
    const m = initRandomModel('llama', {}, 1); // L 2, NKV 2, HS 16: 2 * 2 * 8 * 2 * 16 * 4 = 4096 bytes per block
    const runner = await createModelRunner(m, { ...opts, kvCacheBytes: 4096 * 10 + 4095 });
    expect(runner.pool).toMatchObject({ numBlocks: 10, blockSize: 8, numLayers: 2, numKvHeads: 2, headDim: 16 });
    expect(runner.pool.k[0].length).toBe(10 * 8 * 2 * 16);
    expect(runner.backend.name).toBe('ts');
  });

  it('runs a Mixtral model with in-process experts when no executor is given', async () => {
    const m = initRandomModel('mixtral', {}, 1);
    const runner = await createModelRunner(m, { ...opts, kvCacheBytes: 2 ** 20 });
    const params = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: new Map(), seed: 0n, sampleIndex: 0, numTopLogprobs: 0 };
    const out = await runner.step({ sequences: [{ seqId: 'a', tokenIds: [1, 2, 3], startPosition: 0, blockIds: [1], sample: true, state: { params, promptTokenIds: [1, 2, 3], outputTokenIds: [] } }] });
    expect(out.outputs[0].sampled).toBe(true);
  });

  it('limits the context to a sliding window the backends do not implement', async () => {
    const m = initRandomModel('llama', { sliding_window: 16 }, 1);
    const runner = await createModelRunner(m, { ...opts, kvCacheBytes: 2 ** 20 });
    expect(runner.limits.maxPositions).toBe(16);
    const params = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: new Map(), seed: 0n, sampleIndex: 0, numTopLogprobs: 0 };
    const err = await runner
      .step({ sequences: [{ seqId: 'a', tokenIds: Array(17).fill(1), startPosition: 0, blockIds: [1, 2, 3], sample: true, state: { params, promptTokenIds: [], outputTokenIds: [] } }] })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RunnerError);
    expect((err as RunnerError).message).toMatch(/= 17 exceeds the model's 16 positions/);
  });
});
