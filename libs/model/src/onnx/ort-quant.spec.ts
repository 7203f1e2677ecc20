/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * The ORT graph with quantized linear layers against the TypeScript backend running the same
 * quantized model's exact (dequantized) values, over random mixed prefill/decode steps:
 * MatMulNBits at accuracy level 0 and the dequantized-Gemm kernel match to f32 rounding for
 * Q8_0 and Q4_0, on llama, qwen2 (q/k/v biases), a tied head and mixtral; the int8 kernels
 * (accuracy level 4, DynamicQuantizeLinear + MatMulInteger) stay within a small fraction of
 * the logits' spread. Also: the graph holds the blocks, not f32 copies.
 */
import type { Arch } from '../config';
import { initRandomModel } from '../init-random';
import { quantizeModelWeights } from '../quant/quantize-model';
import { ReferenceMoeExecutor } from '../transformer/moe';
import { TsBackend } from '../runner/ts-backend';
import { tsDecoderFromModel } from '../runner/ts-decoder';
import type { FlatBatch, KvPool, StepBackend } from '../runner/types';
import type { QuantFormat } from '../quant/formats';
import { OrtBackend } from './ort-backend';
import type { QuantKernel } from './spec';
import { maxAbsDiff, scenarioBatches, scenarioPool, type ScenarioOptions } from './testing-scenario';

async function replay(be: StepBackend, batches: FlatBatch[], pool: KvPool): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const b of batches) out.push(await be.forward(b, pool));
  return out;
}

function spread(xs: Float32Array[]): number {
  let lo = Infinity, hi = -Infinity;
  for (const x of xs) for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return hi - lo;
}

function quantized(arch: Arch, format: QuantFormat, overrides: Record<string, unknown> = {}) {
  const model = initRandomModel(arch, { initializer_range: 0.1, ...overrides }, 5);
  const weights = quantizeModelWeights(model.config, model.weights, { format, head: format });
  const q = { config: model.config, weights };
  const moe = model.config.numExperts > 0 ? new ReferenceMoeExecutor(q.config, q.weights) : undefined;
  return { q, moe };
}

async function compare(arch: Arch, format: QuantFormat, kernel: QuantKernel, overrides: Record<string, unknown> = {}) {
  const { q, moe } = quantized(arch, format, overrides);
  const c = q.config;
  const o: ScenarioOptions = { seed: 3, numSeqs: 3, maxPrompt: 11, steps: 4, vocabSize: c.vocabSize, blockSize: 4, numBlocks: 40 };
  const batches = scenarioBatches(o);
  const want = await replay(new TsBackend(tsDecoderFromModel(c, q.weights), moe), batches, scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim));
  const ort = await OrtBackend.create(q, { threads: 1, moeExecutor: moe, quantKernel: kernel });
  const got = await replay(ort, batches, scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim));
  await ort.dispose();
  return { err: Math.max(...got.map((g, i) => maxAbsDiff(g, want[i]))), spread: spread(want) };
}

describe('OrtBackend with quantized weights vs the TS backend on their dequantized values', () => {
  const exact: Array<[string, Arch, QuantFormat, Record<string, unknown>]> = [
    ['llama q8_0', 'llama', 'q8_0', {}],
    ['llama q4_0', 'llama', 'q4_0', {}],
    ['qwen2 q8_0 (q/k/v biases)', 'qwen2', 'q8_0', {}],
    ['llama q4_0, tied head', 'llama', 'q4_0', { tie_word_embeddings: true }],
    ['mixtral q8_0 (MoE experts outside the graph)', 'mixtral', 'q8_0', {}],
  ];
  it.each(exact)('%s: MatMulNBits accuracy level 0 and dequantized Gemm match to f32 rounding', async (_n, arch, format, overrides) => {
    for (const kernel of [{ kind: 'nbits', accuracyLevel: 0 }, { kind: 'dequantized' }] as QuantKernel[]) {
      const { err, spread: s } = await compare(arch, format, kernel, overrides);
      expect(s).toBeGreaterThan(0.5); // logits that are not all alike
      expect(err).toBeLessThan(1e-4 * Math.max(1, s));
    }
  });

  it('q, k, v in different formats (as a GGUF file may mix them) run as one node each', async () => {
    const model = initRandomModel('llama', { initializer_range: 0.1 }, 6);
    const c = model.config;
    const q4 = quantizeModelWeights(c, model.weights, { format: 'q4_0' });
    const q8 = quantizeModelWeights(c, model.weights, { format: 'q8_0' });
    const mixed = { ...q4, 'model.layers.0.self_attn.k_proj.weight': q8['model.layers.0.self_attn.k_proj.weight'] };
    const o: ScenarioOptions = { seed: 9, numSeqs: 2, maxPrompt: 7, steps: 3, vocabSize: c.vocabSize, blockSize: 4, numBlocks: 24 };
    const batches = scenarioBatches(o);
    const want = await replay(new TsBackend(tsDecoderFromModel(c, mixed)), batches, scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim));
    const ort = await OrtBackend.create({ config: c, weights: mixed }, { threads: 1, quantKernel: { kind: 'nbits', accuracyLevel: 0 } });
    const got = await replay(ort, batches, scenarioPool(o, c.numLayers, c.numKvHeads, c.headDim));
    await ort.dispose();
    got.forEach((x, i) => expect(maxAbsDiff(x, want[i])).toBeLessThan(1e-4 * Math.max(1, spread(want))));
  });

  it.each<[QuantFormat, QuantKernel]>([
    ['q8_0', { kind: 'nbits', accuracyLevel: 4 }],
    ['q4_0', { kind: 'nbits', accuracyLevel: 4 }],
    ['q8_0', { kind: 'int8-dynamic' }],
  ])('%s with %j (int8 activations): within 3%% of the logits spread', async (format, kernel) => {
    const { err, spread: s } = await compare('llama', format, kernel);
    expect(err).toBeGreaterThan(0); // activations really are quantized
    expect(err).toBeLessThan(0.03 * s);
  });
});
