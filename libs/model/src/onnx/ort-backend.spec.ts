/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * OrtBackend against the TypeScript backend (paged flash kernel) on tiny random models of every
 * architecture: randomised scenarios mixing chunked prefill and decode over randomly placed
 * blocks give the same logits (1e-4) and the same pool contents; and against the library's
 * reference Transformer on one sequence. Also: the segmented (one session per half-layer) path
 * equals the one-session graph, untouched slots stay untouched, and bad input is named.
 */
import fc from 'fast-check';
import type { Arch } from '../config';
import { initRandomModel } from '../init-random';
import { ReferenceMoeExecutor } from '../transformer/moe';
import { Transformer } from '../transformer/transformer';
import { TsBackend } from '../runner/ts-backend';
import { tsDecoderFromModel } from '../runner/ts-decoder';
import type { FlatBatch, KvPool, StepBackend } from '../runner/types';
import { OrtFfnExecutor, splitAtEveryLayer } from './ffn-executor';
import { decoderFromLoaded } from './from-loaded';
import { OrtBackend } from './ort-backend';
import { maxAbsDiff, scenarioBatches, scenarioPool, type ScenarioOptions } from './testing-scenario';

const TOL = 1e-4;

function modelFor(arch: Arch, seed: number, overrides: Record<string, unknown> = {}) {
  const model = initRandomModel(arch, overrides, seed);
  const moe = model.config.numExperts > 0 ? new ReferenceMoeExecutor(model.config, model.weights) : undefined;
  return { model, moe };
}

/** Replays the scenario on a backend; returns each step's logits and the final pool. */
async function replay(be: StepBackend, batches: FlatBatch[], pool: KvPool): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const b of batches) out.push(await be.forward(b, pool));
  return out;
}

describe('OrtBackend vs TsBackend', () => {
  const cases: Array<[string, Arch, Record<string, unknown>]> = [
    ['llama', 'llama', {}],
    ['qwen2', 'qwen2', {}],
    ['gpt2', 'gpt2', {}],
    ['mixtral', 'mixtral', {}],
    ['gpt2 with exact (erf) gelu', 'gpt2', { activation_function: 'gelu' }],
    ['llama with attention and mlp biases, llama3 rope scaling', 'llama', {
      attention_bias: true,
      mlp_bias: true,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    }],
  ];
  // Every row has 4 entries (jest passes `done` to a test function with more parameters than the row).
  const withPieces: Array<[string, Arch, Record<string, unknown>, number | undefined]> = [
    ...cases.map(([name, arch, overrides]): [string, Arch, Record<string, unknown>, undefined] => [name, arch, overrides, undefined]),
    ['llama, prefill chunks cut into pieces of 3 rows', 'llama', {}, 3],
    ['mixtral, prefill chunks cut into pieces of 2 rows', 'mixtral', {}, 2],
  ];
  it.each(withPieces)('%s: same logits and pool over random mixed prefill/decode steps', async (_name, arch, overrides, maxRowsPerSeq) => {
    const { model, moe } = modelFor(arch, 7, overrides);
    const c = model.config;
    const ort = await OrtBackend.create(model, { threads: 1, moeExecutor: moe, maxRowsPerSeq });
    const ts = new TsBackend(tsDecoderFromModel(c, model.weights), moe);
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4 }), async (seed, numSeqs) => {
          const o: ScenarioOptions = { seed, numSeqs, maxPrompt: 13, steps: 5, vocabSize: c.vocabSize, blockSize: 4, numBlocks: 40 };
          const batches = scenarioBatches(o);
          const poolTs = scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim);
          const poolOrt = scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim);
          const want = await replay(ts, batches, poolTs);
          const got = await replay(ort, batches, poolOrt);
          batches.forEach((b, i) => {
            expect(got[i].length).toBe(b.logitRows.length * c.vocabSize);
            expect(maxAbsDiff(got[i], want[i])).toBeLessThan(TOL);
          });
          for (let l = 0; l < c.numLayers; l++) {
            expect(maxAbsDiff(poolOrt.k[l], poolTs.k[l])).toBeLessThan(TOL);
            expect(maxAbsDiff(poolOrt.v[l], poolTs.v[l])).toBeLessThan(TOL);
          }
        }),
        { numRuns: 6 },
      );
    } finally {
      await ort.dispose();
    }
  });
});

describe('OrtBackend vs the reference Transformer', () => {
  it.each<Arch>(['llama', 'gpt2'])('%s: a prefill of 9 then 4 decodes match a full forward of 13 tokens', async (arch) => {
    const { model } = modelFor(arch, 11);
    const c = model.config;
    const tokens = [5, 99, 3, 250, 17, 8, 401, 77, 2, 60, 123, 9, 300];
    const ref = await new Transformer(c, model.weights).forward(tokens); // (13, V)
    const ort = await OrtBackend.create(model, { threads: 1 });
    const o: ScenarioOptions = { seed: 0, numSeqs: 1, maxPrompt: 1, steps: 1, vocabSize: c.vocabSize, blockSize: 4, numBlocks: 8 };
    const pool = scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim);
    const table = Int32Array.of(6, 2, 7, 4); // physical blocks out of order
    const slot = (p: number) => table[p >> 2] * 4 + (p % 4);
    const step = (from: number, n: number, rows: number[]): FlatBatch => ({
      tokenIds: Int32Array.from(tokens.slice(from, from + n)),
      positions: Int32Array.from({ length: n }, (_, i) => from + i),
      slotMapping: Int32Array.from({ length: n }, (_, i) => slot(from + i)),
      seqs: [{ start: 0, numNewTokens: n, contextLen: from + n, blockTable: table }],
      logitRows: Int32Array.from(rows),
    });
    const V = c.vocabSize;
    const pre = await ort.forward(step(0, 9, [0, 4, 8]), pool);
    [0, 4, 8].forEach((p, r) => expect(maxAbsDiff(pre.subarray(r * V, (r + 1) * V), ref.subarray(p * V, (p + 1) * V))).toBeLessThan(TOL));
    for (let p = 9; p < 13; p++) {
      const got = await ort.forward(step(p, 1, [0]), pool);
      expect(maxAbsDiff(got, ref.subarray(p * V, (p + 1) * V))).toBeLessThan(TOL);
    }
    await ort.dispose();
  });
});

describe('OrtBackend segments and contract', () => {
  const { model } = modelFor('llama', 3);
  const c = model.config;
  const o: ScenarioOptions = { seed: 42, numSeqs: 3, maxPrompt: 10, steps: 4, vocabSize: c.vocabSize, blockSize: 4, numBlocks: 32 };

  it('one session per half-layer (2L + 1 runs) gives the one-session logits', async () => {
    const { spec, weights } = decoderFromLoaded(model);
    const whole = await OrtBackend.create(model, { threads: 1 });
    const ffn = await OrtFfnExecutor.create(spec, weights, { threads: 1 });
    const split = await OrtBackend.fromDecoder(splitAtEveryLayer(spec), weights, { threads: 1, moeExecutor: ffn });
    expect([whole.numSessions, split.numSessions]).toEqual([1, c.numLayers + 1]);
    const batches = scenarioBatches(o);
    const a = await replay(whole, batches, scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim));
    const b = await replay(split, batches, scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim));
    a.forEach((x, i) => expect(maxAbsDiff(x, b[i])).toBeLessThan(1e-5));
    await Promise.all([whole.dispose(), split.dispose(), ffn.dispose()]);
  });

  it('writes only the slots in slotMapping and returns no logits when no row is requested', async () => {
    const ort = await OrtBackend.create(model, { threads: 1 });
    const pool = scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim);
    for (const arr of [...pool.k, ...pool.v]) arr.fill(7); // sentinel in every slot
    const [first] = scenarioBatches(o);
    const logits = await ort.forward({ ...first, logitRows: new Int32Array(0) }, pool);
    expect(logits.length).toBe(0);
    const D = c.numKvHeads * c.headDim;
    const written = new Set(first.slotMapping);
    for (let slot = 0; slot < o.numBlocks * o.blockSize; slot++) {
      const row = pool.k[1].subarray(slot * D, (slot + 1) * D);
      expect(row.every((x) => x === 7)).toBe(!written.has(slot));
    }
    await ort.dispose();
  });

  it('names the problem on bad input', async () => {
    const ort = await OrtBackend.create(model, { threads: 1 });
    const [first] = scenarioBatches(o);
    const pool = scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim);
    const bad = { ...first, tokenIds: Int32Array.from(first.tokenIds, (t, i) => (i === 0 ? c.vocabSize : t)) };
    await expect(ort.forward(bad, pool)).rejects.toThrow(`tokenIds[0] = ${c.vocabSize} is outside the vocabulary [0, ${c.vocabSize})`);
    const wrongPool = scenarioPool(o, c.numLayers + 1, c.numKvHeads, c.headDim);
    await expect(ort.forward(first, wrongPool)).rejects.toThrow(/KV pool is \(L 3, NKV 2, HS 16\) but the model needs \(L 2, NKV 2, HS 16\)/);
    await ort.dispose();
    await expect(ort.forward(first, pool)).rejects.toThrow('forward() after dispose()');
    const mix = initRandomModel('mixtral', {}, 1);
    await expect(OrtBackend.create(mix, { threads: 1 })).rejects.toThrow(/2 MoE layers; pass opts.moeExecutor/);
  });
});
