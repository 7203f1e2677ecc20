/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * The internals trace recorded by the worker engine, on both backends (the TS paged flash kernel
 * and the ONNX Runtime graph), against the independent float64 forward (plainForward) over the
 * saved checkpoint: every attention row of every computed position equals its naive causal softmax
 * of q . k / sqrt(d_k) within 1e-5 and sums to 1, with the GQA kv head; Mixtral gate
 * probabilities, chosen experts and renormalised weights equal the reference gating; the sampling
 * candidates equal the top of softmax(logits / T). The traced sequence shares its steps with an
 * untraced ones (the third step is split into ORT sub-batches, the traced decode alone in one)
 * whose tokens are the same as untraced.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Arch } from '../config';
import { initRandomModel } from '../init-random';
import { saveModelDir } from '../io/model-dir';
import { readSafetensors } from '../io/safetensors';
import { plainForward } from '../testing';
import { ReferenceMoeExecutor } from '../transformer/moe';
import { createStepBackend, type BackendKind } from './create-runner';
import { createKvPool } from './kv-pool';
import { ModelRunner } from './model-runner';
import type { StepSamplingParams, StepSequenceInput } from './step-types';
import type { StepTraceOut } from './trace-types';

const PARAMS: StepSamplingParams = {
  temperature: 0.8, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
  logitBias: new Map(), seed: 5n, sampleIndex: 0, numTopLogprobs: 0,
};

const PROMPT = [5, 17, 300, 2, 99, 511, 42];
const OTHER = Array.from({ length: 38 }, (_, i) => (i * 37) % 500);

async function setup(arch: Arch, kind: BackendKind) {
  const { config, weights } = initRandomModel(arch, { initializer_range: 0.1 }, 3);
  const dir = mkdtempSync(join(tmpdir(), 'trace-'));
  saveModelDir(dir, config, weights);
  const moe = config.numExperts > 0 ? new ReferenceMoeExecutor(config, weights) : undefined;
  const backend = await createStepBackend({ config, weights }, kind, 1, moe, true);
  const pool = createKvPool({ numBlocks: 32, blockSize: 4, numLayers: config.numLayers, numKvHeads: config.numKvHeads, headDim: config.headDim });
  const runner = new ModelRunner({ backend, pool, vocabSize: config.vocabSize, maxPositions: config.maxPositions, maxBatchSequences: 8, maxBatchTokens: 64, numHeads: config.numHeads });
  return { config, runner, tensors: readSafetensors(join(dir, 'model.safetensors')) };
}

const TRACE = { attention: { layers: [], heads: [] }, moe: true, samplingTop: 5 };
const state = (prompt: number[]) => ({ params: PARAMS, promptTokenIds: prompt, outputTokenIds: [] });

/** Steps of sequence a (traced): prefill 0..3, prefill 4..6 + sample, one decode; b and c (untraced) alongside. */
async function run(runner: ModelRunner, traced: boolean) {
  const trace = traced ? TRACE : undefined;
  const a = (s: Omit<StepSequenceInput, 'seqId' | 'blockIds'>): StepSequenceInput => ({ seqId: 'a', blockIds: [3, 7], ...s, trace });
  const b = (s: Omit<StepSequenceInput, 'seqId' | 'blockIds'>): StepSequenceInput => ({ seqId: 'b', blockIds: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], ...s });
  const s1 = await runner.step({ sequences: [a({ tokenIds: PROMPT.slice(0, 4), startPosition: 0, sample: false, state: state(PROMPT) }), b({ tokenIds: OTHER.slice(0, 2), startPosition: 0, sample: false, state: state(OTHER) })] });
  const s2 = await runner.step({ sequences: [b({ tokenIds: OTHER.slice(2, 20), startPosition: 2, sample: false }), a({ tokenIds: PROMPT.slice(4), startPosition: 4, sample: true })] });
  const next = s2.outputs[1].tokenId;
  const c = { seqId: 'c', blockIds: [20], tokenIds: [9], startPosition: 0, sample: true, state: state([9]) };
  const s3 = await runner.step({ sequences: [b({ tokenIds: OTHER.slice(20), startPosition: 20, sample: true }), c, a({ tokenIds: [next], startPosition: PROMPT.length, sample: true })] });
  const traces = [s1.outputs[0].trace, s2.outputs[1].trace, s3.outputs[2].trace];
  return { tokens: [...PROMPT, next], traces: traces as StepTraceOut[], outB: [s3.outputs[0].tokenId, s3.outputs[1].tokenId], last: s3.outputs[2].tokenId };
}

describe.each<[Arch, BackendKind]>([['llama', 'ts'], ['llama', 'ort'], ['mixtral', 'ts'], ['mixtral', 'ort']])('internals trace: %s on %s', (arch, kind) => {
  it('attention rows equal the naive causal softmax, routing the reference gating, candidates softmax(logits / T)', async () => {
    const { config, runner, tensors } = await setup(arch, kind);
    const got = await run(runner, true);
    const rows = new Map<string, number[]>();
    const gates = new Map<string, { probs: number[]; experts: number[]; weights: number[] }>();
    const logits = plainForward(config, tensors, got.tokens, {
      attention: (l, h, t, p) => rows.set(`${l}/${h}/${t}`, p),
      moe: (l, t, probs, experts, weights) => gates.set(`${l}/${t}`, { probs, experts, weights }),
    });
    const attention = got.traces.flatMap((t) => t.attention);
    // every (layer, head, position) computed for a exactly once: 8 positions x L x NH
    expect(attention.length).toBe(got.tokens.length * config.numLayers * config.numHeads);
    expect(new Set(attention.map((r) => `${r.layer}/${r.head}/${r.queryPosition}`)).size).toBe(attention.length);
    for (const r of attention) {
      const want = rows.get(`${r.layer}/${r.head}/${r.queryPosition}`) as number[];
      expect(r.kvHead).toBe(Math.floor(r.head / (config.numHeads / config.numKvHeads)));
      expect(r.weights.length).toBe(r.queryPosition + 1);
      let sum = 0;
      r.weights.forEach((w, j) => {
        sum += w;
        if (Math.abs(w - want[j]) > 1e-5) throw new Error(`layer ${r.layer} head ${r.head} position ${r.queryPosition} key ${j}: ${w} vs ${want[j]}`);
      });
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    }
    const moe = got.traces.flatMap((t) => t.moe);
    expect(moe.length).toBe(config.numExperts > 0 ? got.tokens.length * config.numLayers : 0);
    for (const m of moe) {
      const want = gates.get(`${m.layer}/${m.position}`) as { probs: number[]; experts: number[]; weights: number[] };
      Array.from(m.gateProbs).forEach((p, e) => expect(Math.abs(p - want.probs[e])).toBeLessThan(1e-5));
      const sorted = [...want.probs].sort((x, y) => y - x);
      expect(sorted[config.numExpertsPerTok - 1] - sorted[config.numExpertsPerTok]).toBeGreaterThan(1e-4); // no near-tie at the cut
      expect(m.expertIds).toEqual(want.experts);
      m.weights.forEach((w, j) => expect(Math.abs(w - want.weights[j])).toBeLessThan(1e-5));
      expect(m.replicas).toEqual(m.expertIds.map(() => 'local'));
    }
    // candidates of the two draws: the top 5 of softmax(logits / 0.8) at positions 6 and 7
    [1, 2].forEach((s) => {
      const draw = got.traces[s].sampling;
      const pos = PROMPT.length - 1 + (s - 1);
      const z = logits[pos].map((x) => x / PARAMS.temperature);
      const m = Math.max(...z);
      const e = z.map((x) => Math.exp(x - m));
      const total = e.reduce((x, y) => x + y, 0);
      const want = e.map((x, id) => ({ id, p: x / total })).sort((x, y) => y.p - x.p).slice(0, 5);
      expect(draw?.position).toBe(pos + 1);
      expect(draw?.masked).toBe(false);
      expect(draw?.candidates.map((c) => c.tokenId)).toEqual(want.map((w) => w.id));
      draw?.candidates.forEach((c, i) => expect(Math.abs(c.prob - want[i].p)).toBeLessThan(1e-4));
    });
    expect(got.traces[0].sampling).toBeUndefined(); // the first chunk sampled nothing
    // the same steps untraced draw the same tokens for both sequences
    const again = await setup(arch, kind);
    const plain = await run(again.runner, false);
    expect([plain.tokens, plain.outB, plain.last]).toEqual([got.tokens, got.outB, got.last]);
    expect(plain.traces.every((t) => t === undefined)).toBe(true);
  });
});

describe('internals trace options', () => {
  it('selects layers and heads, and names a layer or head outside the model', async () => {
    const { runner } = await setup('llama', 'ts');
    const res = await runner.step({ sequences: [{ seqId: 'a', tokenIds: [1, 2, 3], startPosition: 0, blockIds: [2], sample: false, state: state([1, 2, 3]), trace: { attention: { layers: [1], heads: [2, 0] } } }] });
    const rows = res.outputs[0].trace?.attention ?? [];
    expect(rows.map((r) => `${r.layer}/${r.queryPosition}/${r.head}`)).toEqual(['1/0/0', '1/0/2', '1/1/0', '1/1/2', '1/2/0', '1/2/2']);
    await expect(runner.step({ sequences: [{ seqId: 'b', tokenIds: [1], startPosition: 0, blockIds: [3], sample: false, state: state([1]), trace: { attention: { layers: [2], heads: [] } } }] })).rejects.toThrow(/sequence "b": trace.attention.layers has 2 \(the model's layers are 0..1\)/);
    await expect(runner.step({ sequences: [{ seqId: 'c', tokenIds: [1], startPosition: 0, blockIds: [4], sample: false, state: state([1]), trace: { attention: { layers: [], heads: [4] } } }] })).rejects.toThrow(/trace.attention.heads has 4 \(the model's query heads are 0..3\)/);
  });

  it('an ORT backend created without traceable refuses a traced step (start the worker with --allow-trace)', async () => {
    const { config, weights } = initRandomModel('llama', {}, 1);
    const backend = await createStepBackend({ config, weights }, 'ort', 1);
    const pool = createKvPool({ numBlocks: 8, blockSize: 4, numLayers: config.numLayers, numKvHeads: config.numKvHeads, headDim: config.headDim });
    const runner = new ModelRunner({ backend, pool, vocabSize: config.vocabSize, maxPositions: config.maxPositions, maxBatchSequences: 8, maxBatchTokens: 64, numHeads: config.numHeads });
    await expect(runner.step({ sequences: [{ seqId: 'a', tokenIds: [1], startPosition: 0, blockIds: [1], sample: true, state: state([1]), trace: { samplingTop: 3 } }] })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/--allow-trace/) });
    await runner.dispose();
  });
});
