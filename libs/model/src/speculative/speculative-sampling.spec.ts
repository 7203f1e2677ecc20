/*
 * Sampling with speculation keeps the model's distribution, through the whole runner: 3000
 * sequences (seeds 0..2999) draw their first two tokens with a draft model that proposes 2 tokens
 * per step (the target itself as draft, so drafts are its argmax: accepted often, rejected often).
 * The joint counts of (token 1, token 2) are tested against p1(a) * p2(b | a) computed from the
 * reference forward (Pearson chi-square, top-k 3 -> 9 cells, 8 degrees of freedom, critical value
 * 26.12 at alpha = 0.001). The same counts from a verifier that always keeps the draft fail it.
 */
import { initRandomModel } from '../init-random';
import { newSamplingState, recordOutputToken, type SamplingParams } from '../sampling';
import { Transformer } from '../transformer/transformer';
import { createKvPool } from '../runner/kv-pool';
import { ModelRunner } from '../runner/model-runner';
import type { StepSamplingParams } from '../runner/step-types';
import { TsBackend } from '../runner/ts-backend';
import { tsDecoderFromModel } from '../runner/ts-decoder';
import { DraftModelSpeculator } from './draft-model';
import { targetDistribution } from './target-dist';

const model = initRandomModel('llama', { initializer_range: 0.2 }, 3);
const c = model.config;
const PARAMS: StepSamplingParams = {
  temperature: 1, topK: 3, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
  logitBias: new Map(), seed: 0n, sampleIndex: 0, numTopLogprobs: 0,
};
const LIB: SamplingParams = { ...PARAMS, logitBias: new Map(), logprobs: 0 };
const prompt = [11, 40, 7, 93];
const N = 3000;
const BATCH = 60;
const BS = 4;
const CHI2_CRIT_DF8 = 26.12;

async function jointCounts(): Promise<{ counts: Map<string, number>; drafted: number; accepted: number }> {
  const numBlocks = BATCH * 3 + 1;
  const pool = createKvPool({ numBlocks, blockSize: BS, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim });
  const draft = new DraftModelSpeculator(new TsBackend(tsDecoderFromModel(c, model.weights)), { vocabSize: c.vocabSize, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim }, { numBlocks, blockSize: BS });
  const runner = new ModelRunner({ backend: new TsBackend(tsDecoderFromModel(c, model.weights)), pool, vocabSize: c.vocabSize, maxPositions: c.maxPositions, maxBatchSequences: BATCH, maxBatchTokens: 1024, speculator: draft });
  const counts = new Map<string, number>();
  let drafted = 0, accepted = 0;
  for (let b = 0; b < N / BATCH; b++) {
    const ids = Array.from({ length: BATCH }, (_, i) => `s${b * BATCH + i}`);
    const blocks = (i: number) => [3 * i + 1, 3 * i + 2, 3 * i + 3]; // 12 slots: prompt 4 + up to 3 drafts and more
    const out = new Map<string, number[]>(ids.map((id) => [id, []]));
    let first = true;
    while ([...out.values()].some((t) => t.length < 2)) {
      const todo = ids.map((id, i) => ({ id, i })).filter(({ id }) => (out.get(id) as number[]).length < 2);
      const res = await runner.step({
        sequences: todo.map(({ id, i }) => {
          const toks = out.get(id) as number[];
          const seed = BigInt(b * BATCH + i);
          return first
            ? { seqId: id, tokenIds: prompt, startPosition: 0, blockIds: blocks(i), sample: true, numSpeculativeTokens: 2, state: { params: { ...PARAMS, seed }, promptTokenIds: prompt, outputTokenIds: [] } }
            : { seqId: id, tokenIds: [toks[toks.length - 1]], startPosition: prompt.length + toks.length - 1, blockIds: blocks(i), sample: true, numSpeculativeTokens: 2 };
        }),
      });
      first = false;
      for (const o of res.outputs) {
        drafted += o.numDraftTokens ?? 0;
        accepted += o.numAcceptedDraftTokens ?? 0;
        (out.get(o.seqId) as number[]).push(o.tokenId, ...(o.nextTokenIds ?? []));
      }
    }
    await runner.step({ sequences: [], releaseSeqIds: ids });
    for (const t of out.values()) counts.set(`${t[0]},${t[1]}`, (counts.get(`${t[0]},${t[1]}`) ?? 0) + 1);
  }
  return { counts, drafted, accepted };
}

/** p1(a) p2(b | a) from the reference forward, over the top-3 cells. */
async function expectedJoint(): Promise<Map<string, number>> {
  const ref = new Transformer(c, model.weights);
  const V = c.vocabSize;
  const last = async (tokens: number[]) => (await ref.forward(tokens)).subarray((tokens.length - 1) * V, tokens.length * V);
  const p1 = targetDistribution(await last(prompt), LIB, newSamplingState(prompt)).p;
  const joint = new Map<string, number>();
  for (let a = 0; a < V; a++) {
    if (!(p1[a] > 0)) continue;
    const st = newSamplingState(prompt);
    recordOutputToken(st, a);
    const p2 = targetDistribution(await last([...prompt, a]), LIB, st).p;
    for (let b = 0; b < V; b++) if (p2[b] > 0) joint.set(`${a},${b}`, p1[a] * p2[b]);
  }
  return joint;
}

const chiSquare = (counts: Map<string, number>, expected: Map<string, number>) =>
  [...expected].reduce((s, [cell, p]) => s + ((counts.get(cell) ?? 0) - N * p) ** 2 / (N * p), 0);

it('the first two tokens drawn with speculation follow the model joint distribution', async () => {
  const expected = await expectedJoint();
  expect(expected.size).toBe(9);
  for (const p of expected.values()) expect(N * p).toBeGreaterThan(5); // chi-square needs >= 5 expected per cell
  const { counts, drafted, accepted } = await jointCounts();
  expect([...counts.keys()].every((cell) => expected.has(cell))).toBe(true);
  expect(accepted).toBeGreaterThan(0.2 * drafted); // both paths are exercised
  expect(accepted).toBeLessThan(0.9 * drafted);
  expect(chiSquare(counts, expected)).toBeLessThan(CHI2_CRIT_DF8);
  // power: a verifier that kept every (argmax) draft would put all the mass on one cell
  const alwaysAccept = new Map<string, number>([[[...expected].sort((x, y) => y[1] - x[1])[0][0], N]]);
  expect(chiSquare(alwaysAccept, expected)).toBeGreaterThan(10 * CHI2_CRIT_DF8);
}, 120_000);
