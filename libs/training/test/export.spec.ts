/*
 * Export and conversion against the model library's reference forward: for every
 * architecture, the training forward's logits equal those of `Transformer` on the exported
 * directory; convert-gqa keeps logits when kv-heads = heads and produces a loadable,
 * runnable model with fewer heads whose k/v heads are the group means.
 */
import { loadModelDir, saveModelDir, Transformer } from '@llm/model';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsEngine } from '../src/autograd/engine';
import { convertToGqa } from '../src/convert-gqa';
import { exportModelDir, loadInitialModel } from '../src/export';
import { CharVocab } from '../src/data/char-vocab';
import { trainConfig } from '../src/model/config';
import { initParams } from '../src/model/params';
import { TrainableModel } from '../src/model/trainable';
import { Rng } from '../src/rng';

const vocab = new CharVocab('0123456789abcdefghij');
const tmp = mkdtempSync(join(tmpdir(), 'train-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cases: Array<[string, string[]]> = [
  ['llama', ['num_attention_heads=4', 'num_key_value_heads=2', 'hidden_size=32', 'intermediate_size=48']],
  ['qwen2', ['num_attention_heads=4', 'num_key_value_heads=1', 'hidden_size=32', 'intermediate_size=48']],
  ['gpt2', ['n_embd=32', 'n_head=4', 'n_inner=64']],
  ['mixtral', ['num_attention_heads=4', 'num_key_value_heads=2', 'hidden_size=32', 'intermediate_size=24', 'num_local_experts=4', 'num_experts_per_tok=2']],
];

function randomize(model: TrainableModel, seed: number): void {
  // Non-trivial norms and biases too, so a dropped or misplaced one changes the logits.
  const rng = new Rng(seed);
  for (const p of model.params.values()) for (let i = 0; i < p.size; i++) p.data[i] += rng.normal() * (p.shape.length === 1 ? 0.1 : 0.05);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('exported directory == training model (reference Transformer logits)', () => {
  for (const [arch, sets] of cases) {
    it(arch, async () => {
      const cfg = trainConfig(arch, sets, { vocabSize: vocab.size, bosTokenId: null, eosTokenId: vocab.eosId });
      const model = new TrainableModel(cfg, initParams(cfg, 5), new JsEngine());
      randomize(model, 6);
      const dir = join(tmp, arch);
      exportModelDir(dir, cfg, model.params, { tokenizerJson: vocab.toTokenizerJson(), eosTokenId: vocab.eosId });
      const loaded = await loadModelDir(dir);
      expect(loaded.config.arch).toBe(arch);
      expect(loaded.generation.eosTokenIds).toEqual([vocab.eosId]);
      const ids = vocab.encode('31415926ab');
      const ref = await new Transformer(loaded.config, loaded.weights).forward(ids);
      const ours = await model.logits(Int32Array.from(ids), 1, ids.length);
      expect(ref.length).toBe(ours.length);
      expect(maxDiff(ref, ours)).toBeLessThan(1e-4);
      // And back: --init reads the same parameters.
      const again = await loadInitialModel(dir);
      for (const [name, p] of model.params) expect(maxDiff(again.params.get(name)!.data, p.data)).toBe(0);
    });
  }
});

describe('convert-gqa', () => {
  const cfg = trainConfig('llama', ['num_attention_heads=4', 'num_key_value_heads=4', 'hidden_size=32', 'intermediate_size=48'], {
    vocabSize: vocab.size, bosTokenId: null, eosTokenId: vocab.eosId,
  });
  const model = new TrainableModel(cfg, initParams(cfg, 8), new JsEngine());
  randomize(model, 9);
  const ids = vocab.encode('9876543210');

  it('with kv-heads = heads the logits are unchanged', async () => {
    const dir = join(tmp, 'mha');
    exportModelDir(dir, cfg, model.params, { tokenizerJson: vocab.toTokenizerJson(), eosTokenId: vocab.eosId });
    const m = await loadModelDir(dir);
    const conv = convertToGqa(m.config, m.weights, 4);
    const a = await new Transformer(m.config, m.weights).forward(ids);
    const b = await new Transformer(conv.config, conv.weights).forward(ids);
    expect(maxDiff(a, b)).toBe(0);
  });

  it('with fewer heads the model loads and runs, and k/v heads are the group means', async () => {
    const m = await loadModelDir(join(tmp, 'mha'));
    const conv = convertToGqa(m.config, m.weights, 2);
    expect(conv.config.numKvHeads).toBe(2);
    const HS = cfg.headDim, C = cfg.hiddenSize;
    const k = m.weights['model.layers.1.self_attn.k_proj.weight'].data;
    const k2 = conv.weights['model.layers.1.self_attn.k_proj.weight'];
    expect(k2.shape).toEqual([2 * HS, C]);
    // new head 1, row r, col c = mean of old heads 2 and 3 at (r, c)
    expect(k2.data[(HS + 3) * C + 5]).toBeCloseTo((k[(2 * HS + 3) * C + 5] + k[(3 * HS + 3) * C + 5]) / 2, 6);
    const dir = join(tmp, 'gqa');
    saveModelDir(dir, conv.config, conv.weights, { tokenizerJson: vocab.toTokenizerJson() });
    const back = await loadModelDir(dir);
    expect(back.config.numKvHeads).toBe(2);
    const logits = await new Transformer(back.config, back.weights).forward(ids);
    expect(logits.length).toBe(ids.length * vocab.size);
    expect(logits.every(Number.isFinite)).toBe(true);
    // The converted directory is a valid --init for fine-tuning.
    const init = await loadInitialModel(dir);
    const tuned = new TrainableModel(init.config, init.params, new JsEngine());
    expect(maxDiff(await tuned.logits(Int32Array.from(ids), 1, ids.length), logits)).toBeLessThan(1e-4);
  });

  it('refuses gpt2 and kv-head counts that do not divide', async () => {
    const m = await loadModelDir(join(tmp, 'mha'));
    expect(() => convertToGqa(m.config, m.weights, 3)).toThrow(/--kv-heads 3 must be a positive divisor of the model's 4/);
    const g = await loadModelDir(join(tmp, 'gpt2'));
    expect(() => convertToGqa(g.config, g.weights, 2)).toThrow(/GPT2LMHeadModel has no grouped-query attention/);
  });
});
