/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * A Mixtral model as a Q8_0 GGUF file served by the router: the experts stay in blocks and run
 * on ONNX Runtime's MatMulNBits. At accuracy level 0 (f32 compute) the logits equal the model
 * library's reference experts on the file's dequantized weights; through the router over gRPC
 * (the default level 4, int8 activations) they stay within a small fraction of the logits'
 * spread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transformer, initRandomModel, loadModelDir, quantizeModelWeights, saveGguf, type LoadedModel, type MoeLayerExecutor } from '@llm/model';
import { inProcessMoeExecutor, ortExpertBackend } from '@llm/moe';
import { loadConfig } from '@llm/platform';
import { RouterDispatchExecutor, RouterService, buildMoeModel, createRouterMoe, routerConfigSchema } from '../src';
import { serve } from './fixtures';

const PROMPT = [3, 141, 59, 265, 358, 97, 93, 238, 462, 64];
let dir: string;
let gguf: string;
let model: LoadedModel;
let reference: Float32Array;

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const logitsWith = (exec: MoeLayerExecutor) => new Transformer(model.config, model.weights, { moeExecutor: exec }).forward(PROMPT);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'router-gguf-'));
  const m = initRandomModel('mixtral', { initializer_range: 0.1 }, 11);
  gguf = join(dir, 'mixtral-q8_0.gguf');
  saveGguf(gguf, { config: m.config, weights: quantizeModelWeights(m.config, m.weights, { format: 'q8_0' }) });
  model = await loadModelDir(gguf);
  reference = await new Transformer(model.config, model.weights).forward(PROMPT); // libs/model's experts, dequantized values
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('quantized experts on MatMulNBits (accuracy level 0) give the reference logits', async () => {
  expect(model.weights['model.layers.0.block_sparse_moe.experts.1.w2.weight'].quant?.format).toBe('q8_0');
  const moe = buildMoeModel(model.config.raw, model.weights, { backend: ortExpertBackend({ threads: 1, accuracyLevel: 0 }) });
  const exec = inProcessMoeExecutor(moe.layers);
  expect(maxDiff(await logitsWith(exec), reference)).toBeLessThan(1e-4);
});

it('the router serves the GGUF file over gRPC (default level 4: int8 activations)', async () => {
  const config = loadConfig(routerConfigSchema, { argv: [], env: {}, overrides: { modelDir: gguf, threads: 1 } });
  const parts = await createRouterMoe(config);
  const s = await serve(new RouterService(parts.moe));
  try {
    const got = await logitsWith(new RouterDispatchExecutor(s.client, model.config.hiddenSize));
    const spread = Math.max(...reference) - Math.min(...reference);
    const err = maxDiff(got, reference);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.03 * spread);
  } finally {
    await s.close();
    await parts.moe.dispose();
  }
});
