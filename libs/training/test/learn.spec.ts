/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * End to end on the real training path (float32, ONNX Runtime gemm): a tiny GQA llama
 * learns to sort 4 digits to >= 95% exact match with a fixed seed; its exported directory,
 * run by the model library's reference Transformer (what the worker is tested against),
 * gives the same greedy answers wherever the reference's top-2 margin is clear.
 */
import { loadModelDir, Transformer } from '@llm/model';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrtEngine } from '../src/autograd/ort-engine';
import { CharVocab } from '../src/data/char-vocab';
import { evalSet, exactMatch, TaskBatches } from '../src/data/task-data';
import { getTask } from '../src/data/tasks';
import { exportModelDir } from '../src/export';
import { trainConfig } from '../src/model/config';
import { TrainableModel } from '../src/model/trainable';
import { Trainer } from '../src/trainer';

const MARGIN = 1e-3;

/** Greedy decode with the reference model and KV cache; also the smallest top-2 logit gap seen. */
async function referenceGreedy(tf: Transformer, prompt: number[], maxNew: number, eos: number): Promise<{ ids: number[]; margin: number }> {
  const cache = tf.newCache();
  let logits = await tf.forward(prompt, cache, { lastOnly: true });
  const ids: number[] = [];
  let margin = Infinity;
  for (let s = 0; s < maxNew; s++) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    let second = -Infinity;
    for (let v = 0; v < logits.length; v++) if (v !== best) second = Math.max(second, logits[v]);
    margin = Math.min(margin, logits[best] - second);
    ids.push(best);
    if (best === eos) break;
    logits = await tf.forward([best], cache, { lastOnly: true });
  }
  return { ids, margin };
}

describe('a tiny model learns sort4 and serves the same answers', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'train-learn-'));
  let engine: OrtEngine;
  beforeAll(async () => {
    engine = await OrtEngine.create({ threads: 2 });
  });
  afterAll(async () => {
    await engine.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('>= 95% exact match, and the exported directory agrees with the training model', async () => {
    const task = getTask('sort4');
    const vocab = new CharVocab(task.alphabet);
    const data = new TaskBatches(task, 32, 11, vocab);
    const cfg = trainConfig('llama', ['hidden_size=48', 'intermediate_size=96', 'num_attention_heads=4', 'num_key_value_heads=2'], {
      vocabSize: data.vocab.size, bosTokenId: null, eosTokenId: data.vocab.eosId,
    });
    const model = TrainableModel.init(cfg, 11, engine);
    const steps = 400;
    const trainer = new Trainer(model, data, {
      steps, optimizer: 'adamw', weightDecay: 0, clipNorm: 1,
      schedule: { maxLr: 3e-3, minLr: 3e-4, warmupSteps: 20, totalSteps: steps },
    });
    await trainer.run();
    const examples = evalSet(task, 200, 12345);
    const prompts = examples.map((ex) => data.vocab.encode(ex.prompt)); // all of length 5
    const ours = await model.greedy(prompts, 5, data.vocab.eosId);
    const em = await exactMatch(async () => ours, data.vocab, examples);
    expect(em.accuracy).toBeGreaterThanOrEqual(0.95);

    const dir = join(tmp, 'sort4');
    exportModelDir(dir, cfg, model.params, { tokenizerJson: vocab.toTokenizerJson(), eosTokenId: data.vocab.eosId });
    const loaded = await loadModelDir(dir);
    const tf = new Transformer(loaded.config, loaded.weights);
    let compared = 0;
    for (let i = 0; i < examples.length; i++) {
      const ref = await referenceGreedy(tf, prompts[i], 5, data.vocab.eosId);
      if (ref.margin <= MARGIN) continue;
      expect(ref.ids).toEqual(ours[i]);
      compared++;
    }
    // A trained model is decisive: nearly every answer has a clear margin at every step.
    expect(compared).toBeGreaterThanOrEqual(190);
  }, 180_000); // ~30 s of CPU on 2 idle cores; the margin is for a loaded machine
});
