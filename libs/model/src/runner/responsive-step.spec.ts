/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * The worker engine as createModelRunner builds it (ORT backend, sessions on worker threads: the
 * default for models of OFF_THREAD_MIN_PARAMS parameters and more, forced here for a small one)
 * keeps the event loop free during a long step: a 1 ms timer keeps ticking while a 512-token
 * prefill computes, where the old path (ortOnMainThread) stalls it for the whole step.
 * That loop also serves the worker's gRPC (and, embedded, the whole platform's HTTP and queue).
 * Both runners sample the same greedy token, so the thread path is the same computation.
 */

import { initRandomModel, makeConfig } from '../init-random';
import type { OrtBackend } from '../onnx';
import { approxParams, createModelRunner, OFF_THREAD_MIN_PARAMS } from './create-runner';
import type { StepInput } from './step-types';

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Ticks of a 1 ms interval while `work` runs, its largest gap, the run's length, and its result. */
async function stall<T>(work: () => Promise<T>): Promise<{ gapMs: number; ticks: number; ms: number; result: T }> {
  let last = nowMs();
  let gapMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = nowMs();
    gapMs = Math.max(gapMs, now - last);
    last = now;
    ticks++;
  }, 1);
  const t0 = (last = nowMs());
  const result = await work();
  gapMs = Math.max(gapMs, nowMs() - last);
  clearInterval(timer);
  return { gapMs, ticks, ms: nowMs() - t0, result };
}

describe('which thread runs the steps by default', () => {
  it('counts parameters as L (C (NH + 2 NKV) HS + NH HS C + 3 C I) + V C, and puts models from 16M on threads', () => {
    // SmolLM-135M: 30 x (576 x 15 x 64 + 9 x 64 x 576 + 3 x 576 x 1536) + 49152 x 576 = 134,479,872
    const smol = makeConfig('llama', { hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536, vocab_size: 49152 });
    expect(approxParams(smol)).toBe(134_479_872);
    expect(approxParams(smol)).toBeGreaterThanOrEqual(OFF_THREAD_MIN_PARAMS);
    // the shipped default model's shape (C 64, L 2, 4/2 heads of 16, I 128, V 257): 2 x (8,192 + 4,096 + 24,576) + 16,448 = 90,176
    const tiny = makeConfig('llama', { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128, vocab_size: 257 });
    expect(approxParams(tiny)).toBe(90_176);
    expect(approxParams(tiny)).toBeLessThan(OFF_THREAD_MIN_PARAMS);
  });

  it('follows the size rule unless told', async () => {
    const tiny = initRandomModel('llama', {}, 1);
    const opts = { backend: 'ort' as const, threads: 1, kvCacheBytes: 2 ** 20, blockSize: 8, maxBatchSequences: 4, maxBatchTokens: 64, decodeKernel: 'ort' as const }; // the ORT backend itself (wasm decode is wasm-decode.spec's)
    const auto = await createModelRunner(tiny, opts);
    const forced = await createModelRunner(tiny, { ...opts, ortOnMainThread: false });
    expect([(auto.backend as OrtBackend).offThread, (forced.backend as OrtBackend).offThread]).toEqual([false, true]);
    await auto.dispose();
    await forced.dispose();
  });
});

describe('a long step off the event loop', () => {
  it('lets a timer tick during a prefill that stalls the loop on the old path', async () => {
    const model = initRandomModel('llama', { hidden_size: 256, intermediate_size: 1024, num_hidden_layers: 6, num_attention_heads: 8, num_key_value_heads: 4, max_position_embeddings: 512 }, 3);
    const opts = { backend: 'ort' as const, threads: 1, kvCacheBytes: 2 ** 26, blockSize: 16, maxBatchSequences: 4, maxBatchTokens: 1024 };
    const threaded = await createModelRunner(model, { ...opts, ortOnMainThread: false });
    const onLoop = await createModelRunner(model, { ...opts, ortOnMainThread: true });
    const params = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: new Map(), seed: 0n, sampleIndex: 0, numTopLogprobs: 0 };
    const prompt = Array.from({ length: 512 }, (_, i) => (i * 37 + 11) % model.config.vocabSize);
    const input = (id: string): StepInput => ({
      sequences: [{ seqId: id, tokenIds: prompt, startPosition: 0, blockIds: Array.from({ length: 32 }, (_, i) => i + 1), sample: true, state: { params, promptTokenIds: prompt, outputTokenIds: [] } }],
    });
    try {
      await threaded.step(input('warm-a'));
      await onLoop.step(input('warm-b'));
      const old = await stall(() => onLoop.step(input('b')));
      const off = await stall(() => threaded.step(input('a')));
      expect(off.result.outputs[0].tokenId).toBe(old.result.outputs[0].tokenId);
      // The old path holds the loop for the whole forward: the timer fires only around it (a few
      // times at most, in the awaits before and after). Off the loop it keeps firing through the
      // forward; on a loaded machine not every millisecond, so the bound is loose.
      expect(old.ticks).toBeLessThanOrEqual(4);
      expect(off.ticks).toBeGreaterThanOrEqual(12);
    } finally {
      await threaded.dispose();
      await onLoop.dispose();
    }
  });
});
