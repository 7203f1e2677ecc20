/**
 * The reference forward against an independent float64 implementation written from HF's modeling
 * code (../testing/plain-forward), for every architecture; incremental decoding == recomputation;
 * flash == naive inside the model; F32 vs F16/BF16 checkpoints; MoE routing by hand; bad input.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHS, initRandomModel } from '../init-random';
import { loadModelDir, saveModelDir } from '../io/model-dir';
import { readSafetensors } from '../io/safetensors';
import { roundTripDtype } from '../io/dtype';
import { plainForward } from '../testing';
import { Transformer } from './transformer';
import { routeTopK, ReferenceMoeExecutor } from './moe';
import type { ModelWeights } from '../weights';

const tmp = () => mkdtempSync(join(tmpdir(), 'tf-'));
const TOKENS = [5, 17, 300, 2, 99, 511, 42];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

describe.each(ARCHS)('%s', (arch) => {
  // A wider init than HF's 0.02 so logits spread over several units and errors are visible.
  const { config, weights } = initRandomModel(arch, { initializer_range: 0.1 }, 7);
  const dir = tmp();
  saveModelDir(dir, config, weights);

  it('equals the plain float64 HF-semantics reference (weights read from the saved checkpoint)', async () => {
    const model = new Transformer(config, weights);
    const logits = await model.forward(TOKENS);
    const want = plainForward(config, readSafetensors(join(dir, 'model.safetensors')), TOKENS).flat();
    expect(logits.length).toBe(TOKENS.length * config.vocabSize);
    expect(maxAbs(want)).toBeGreaterThan(0.5); // the comparison is not between near-zeros
    expect(maxAbsDiff(logits, want)).toBeLessThan(1e-4);
  });

  it('incremental decoding with a KV cache equals full recomputation; naive == flash', async () => {
    const loaded = await loadModelDir(dir);
    const flash = new Transformer(loaded.config, loaded.weights);
    const naive = new Transformer(loaded.config, loaded.weights, { attention: 'naive' });
    const full = await naive.forward(TOKENS);
    const cache = flash.newCache();
    const V = config.vocabSize;
    const steps = [3, 1, 1, 2];
    let start = 0;
    for (const n of steps) {
      const part = await flash.forward(TOKENS.slice(start, start + n), cache);
      expect(maxAbsDiff(part, full.subarray(start * V, (start + n) * V))).toBeLessThan(1e-5);
      start += n;
    }
    expect(cache.length).toBe(TOKENS.length);
    const last = await flash.forward(TOKENS, undefined, { lastOnly: true });
    expect(maxAbsDiff(last, full.subarray((TOKENS.length - 1) * V))).toBeLessThan(1e-5);
  });

  it.each([['F16', 2 ** -11], ['BF16', 2 ** -8]] as const)('a %s checkpoint of the same weights gives the same logits within the dtype tolerance', async (dtype, unitRoundoff) => {
    const d = tmp();
    saveModelDir(d, config, weights, { dtype });
    const low = await loadModelDir(d);
    const got = await new Transformer(low.config, low.weights).forward(TOKENS);
    // exact: the loaded model is the f32 model with every weight rounded through the dtype
    const rounded: ModelWeights = {};
    for (const [k, w] of Object.entries(weights)) rounded[k] = { shape: w.shape, data: roundTripDtype(w.data, dtype) };
    if (config.tieWordEmbeddings) rounded['lm_head.weight'] = rounded['model.embed_tokens.weight'];
    expect(maxAbsDiff(got, await new Transformer(config, rounded).forward(TOKENS))).toBeLessThan(1e-5);
    // and close to the f32 logits: weight errors of relative size u (unit roundoff) perturb logits by
    // O(u) relative, amplified through the layers (and, for mixtral, by routing); measured 1.7-3.9 u of
    // the logit scale for these models, so 16 u bounds it with margin while a real bug would not fit
    const ref = await new Transformer(config, weights).forward(TOKENS);
    expect(maxAbsDiff(got, ref)).toBeLessThan(16 * unitRoundoff * maxAbs(ref));
    expect(maxAbsDiff(got, ref)).toBeGreaterThan(0); // the rounding really happened
  });
});

describe('MoE routing', () => {
  it('softmax over all router logits, top-k, then renormalise (hand-worked)', () => {
    // logits ln[1, 2, 3, 4] -> p = [0.1, 0.2, 0.3, 0.4]; top-2 = experts 3, 2; weights 4/7, 3/7
    const r = routeTopK(Float32Array.from([0, Math.log(2), Math.log(3), Math.log(4)]), 1, 4, 2);
    expect(Array.from(r.experts)).toEqual([3, 2]);
    expect(Math.abs(r.weights[0] - 4 / 7)).toBeLessThan(1e-6);
    expect(Math.abs(r.weights[1] - 3 / 7)).toBeLessThan(1e-6);
  });

  it('an injected executor replaces the in-process one', async () => {
    const { config, weights } = initRandomModel('mixtral', {}, 1);
    const ref = new ReferenceMoeExecutor(config, weights);
    const calls: number[] = [];
    const spy = { run: (l: number, h: Float32Array, T: number) => (calls.push(l), ref.run(l, h, T)) };
    const a = await new Transformer(config, weights, { moeExecutor: spy }).forward([1, 2, 3]);
    const b = await new Transformer(config, weights).forward([1, 2, 3]);
    expect(calls).toEqual([0, 1]);
    expect(maxAbsDiff(a, b)).toBe(0);
  });
});

describe('bad input', () => {
  const { config, weights } = initRandomModel('llama', {}, 2);
  const model = new Transformer(config, weights);

  it('rejects token ids outside the vocab and sequences past max positions', async () => {
    await expect(model.forward([1, 512])).rejects.toThrow(/token id 512 at position 1 is out of range \(expected an integer in \[0, 512\)/);
    await expect(model.forward([])).rejects.toThrow(/tokens is empty/);
    await expect(model.forward(new Array(513).fill(1))).rejects.toThrow(/sequence of 513 tokens exceeds max_position_embeddings=512/);
  });

  it('names a missing or mis-shaped weight at construction', () => {
    const { ['model.layers.1.self_attn.k_proj.weight']: _k, ...rest } = weights;
    expect(() => new Transformer(config, rest)).toThrow(/weight "model.layers.1.self_attn.k_proj.weight" is missing \(expected shape \[32, 64\]\)/);
  });
});
