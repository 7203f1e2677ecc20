/*
 * The sampling part of the internals trace under a grammar: the draw's candidates are the top of
 * the masked distribution (all allowed), `unmasked` is the top of softmax(logits / T) from the
 * independent float64 forward with each token marked allowed exactly when the grammar's own mask
 * (asked of a fresh matcher here) allows it, and num_allowed is that mask's population count.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModelDir } from '../init-model-dir';
import { loadModelDir } from '../io/model-dir';
import { readSafetensors } from '../io/safetensors';
import { plainForward } from '../testing';
import { createModelRunner } from './create-runner';
import { grammarEngineForModel } from './grammar-engine';

const EBNF = 'root ::= "the" | "to" | "a b"';

it('records the grammar mask effect on a draw', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trace-g-'));
  initModelDir(dir, 'llama', { seed: 2, overrides: { vocab_size: 320, initializer_range: 0.1 } });
  const model = await loadModelDir(dir);
  const engine = await grammarEngineForModel(model);
  const runner = await createModelRunner(model, { backend: 'ts', threads: 1, kvCacheBytes: 1 << 20, blockSize: 4, maxBatchSequences: 4, maxBatchTokens: 64, grammar: engine });
  const prompt = [40, 41, 42];
  const params = { temperature: 0.7, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: new Map(), seed: 1n, sampleIndex: 0, numTopLogprobs: 0 };
  const res = await runner.step({
    sequences: [{ seqId: 'g', tokenIds: prompt, startPosition: 0, blockIds: [1], sample: true, state: { params, promptTokenIds: prompt, outputTokenIds: [], grammarEbnf: EBNF }, trace: { samplingTop: 6 } }],
  });
  const draw = res.outputs[0].trace?.sampling;
  const V = model.config.vocabSize;
  const matcher = await (engine as NonNullable<typeof engine>).matcher(await (engine as NonNullable<typeof engine>).compile(EBNF));
  const mask = await matcher.nextTokenMask();
  const allowed = (id: number) => ((mask[id >> 5] >>> (id & 31)) & 1) === 1;
  let numAllowed = 0;
  for (let id = 0; id < V; id++) if (allowed(id)) numAllowed++;
  expect(draw?.masked).toBe(true);
  expect(draw?.numAllowed).toBe(numAllowed);
  expect(numAllowed).toBeGreaterThan(1);
  expect(numAllowed).toBeLessThan(V / 4);
  expect(draw?.candidates.length).toBe(Math.min(6, numAllowed));
  expect(draw?.candidates.every((c) => allowed(c.tokenId) && c.allowed)).toBe(true);
  expect(draw?.candidates.map((c) => c.tokenId)).toContain(res.outputs[0].tokenId);
  const logits = plainForward(model.config, readSafetensors(join(dir, 'model.safetensors')), prompt)[prompt.length - 1];
  const z = logits.map((x) => x / 0.7);
  const m = Math.max(...z);
  const total = z.reduce((a, x) => a + Math.exp(x - m), 0);
  const p = z.map((x) => Math.exp(x - m) / total); // softmax(logits / T), float64
  const want = p.map((q, id) => ({ id, p: q })).sort((a, b) => b.p - a.p).slice(0, 6);
  expect(draw?.unmasked.map((c) => c.tokenId)).toEqual(want.map((w) => w.id));
  draw?.unmasked.forEach((c, i) => {
    expect(Math.abs(c.prob - want[i].p)).toBeLessThan(1e-4);
    expect(c.allowed).toBe(allowed(c.tokenId));
  });
  // masked candidates renormalise the allowed mass: p_masked = p / sum_allowed p
  const allowedMass = p.reduce((a, q, id) => a + (allowed(id) ? q : 0), 0);
  for (const c of draw?.candidates ?? []) expect(Math.abs(c.prob - p[c.tokenId] / allowedMass)).toBeLessThan(1e-4);
  matcher.dispose();
  await runner.dispose();
});
