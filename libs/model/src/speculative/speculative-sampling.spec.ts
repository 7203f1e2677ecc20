/*
 * Sampling with speculation keeps the model's distribution, through the whole runner: 3000
 * sequences (seeds 0..2999) draw their first two tokens while proposing 2 drafts per step, with
 * (a) a draft model that samples its drafts from its own q (the target with its logits shifted by
 * a fixed pattern: q != p on the same support, so the general rule min(1, p/q) and the residual
 * max(0, p - q) both act), and (b) fixed drafts (a deterministic proposer, q = onehot) naming the
 * second most likely first token and the likeliest token after it. The joint counts of (token 1, token 2)
 * are tested against p1(a) * p2(b | a) from the reference forward (Pearson chi-square, top-k 3 ->
 * 9 cells, 8 degrees of freedom, critical value 26.12 at alpha = 0.001). A verifier that always
 * kept the draft would fail it, and so does one that resamples from p instead of the residual
 * (checked by hand: chi-square 502 and 868).
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
import type { Draft, DraftRequest, Speculator } from './speculator';
import type { StepBackend } from '../runner/types';
import { targetDistribution } from './target-dist';

const model = initRandomModel('llama', { initializer_range: 0.2 }, 3);
const c = model.config;
const PARAMS: StepSamplingParams = {
  temperature: 1, topK: 3, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
  logitBias: new Map(), seed: 0n, sampleIndex: 0, numTopLogprobs: 0,
};
const LIB: SamplingParams = { ...PARAMS, logitBias: new Map(), logprobs: 0 };
const N = 3000;
const BATCH = 60;
const BS = 4;
const CHI2_CRIT_DF8 = 26.12;

const prompt = [11, 40, 7, 93];

/** The target's forward with every logit row shifted by 0.8 sin(1.3 v): a draft model whose q differs from p. */
function shiftedTarget(): StepBackend {
  const inner = new TsBackend(tsDecoderFromModel(c, model.weights));
  return {
    name: 'ts', traceable: false, dispose: () => inner.dispose(),
    async forward(batch, pool, extras) {
      const logits = await inner.forward(batch, pool, extras);
      for (let i = 0; i < logits.length; i++) logits[i] += 0.8 * Math.sin(1.3 * (i % c.vocabSize));
      return logits;
    },
  };
}
const draftModel = (numBlocks: number): Speculator =>
  new DraftModelSpeculator(shiftedTarget(), { vocabSize: c.vocabSize, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim }, { numBlocks, blockSize: BS });

/** A deterministic proposer: the same two drafts for every sequence at its first step, none later. */
class FixedDrafts implements Speculator {
  readonly method = 'ngram';
  constructor(private readonly drafts: number[]) {}
  async propose(requests: readonly DraftRequest[]): Promise<Draft[]> {
    return requests.map((r) => ({ tokens: r.tokens.length === prompt.length ? this.drafts.slice(0, r.k) : [] }));
  }
}

async function jointCounts(speculator: (numBlocks: number) => Speculator): Promise<{ counts: Map<string, number>; drafted: number; accepted: number }> {
  const numBlocks = BATCH * 4 + 1;
  const pool = createKvPool({ numBlocks, blockSize: BS, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim });
  const draft = speculator(numBlocks);
  const runner = new ModelRunner({ backend: new TsBackend(tsDecoderFromModel(c, model.weights)), pool, vocabSize: c.vocabSize, maxPositions: c.maxPositions, maxBatchSequences: BATCH, maxBatchTokens: 1024, speculator: draft });
  const counts = new Map<string, number>();
  let drafted = 0, accepted = 0;
  for (let b = 0; b < N / BATCH; b++) {
    const ids = Array.from({ length: BATCH }, (_, i) => `s${b * BATCH + i}`);
    const blocks = (i: number) => [4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4]; // 16 slots: the prompt, 2 tokens, drafts past them
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

/** Fixed drafts: the second most likely first token, then the most likely token after it. */
function fixedDrafts(expected: Map<string, number>): number[] {
  const first = new Map<number, number>();
  for (const [cell, p] of expected) first.set(Number(cell.split(',')[0]), (first.get(Number(cell.split(',')[0])) ?? 0) + p);
  const a = [...first].sort((x, y) => y[1] - x[1])[1][0];
  const b = [...expected].filter(([cell]) => cell.startsWith(`${a},`)).sort((x, y) => y[1] - x[1])[0][0].split(',')[1];
  return [a, Number(b)];
}

const cases: [string, (expected: Map<string, number>) => (numBlocks: number) => Speculator][] = [
  ['a draft model sampling its drafts (q != p)', () => draftModel],
  ['fixed drafts (q = onehot)', (expected) => () => new FixedDrafts(fixedDrafts(expected))],
];

it.each(cases)('%s: the first two tokens drawn with speculation follow the model joint distribution', async (_name, speculatorFor) => {
  const expected = await expectedJoint();
  expect(expected.size).toBe(9);
  for (const p of expected.values()) expect(N * p).toBeGreaterThan(5); // chi-square needs >= 5 expected per cell
  const { counts, drafted, accepted } = await jointCounts(speculatorFor(expected));
  expect([...counts.keys()].every((cell) => expected.has(cell))).toBe(true);
  expect(accepted).toBeGreaterThan(0.1 * drafted); // both paths are exercised
  expect(accepted).toBeLessThan(0.9 * drafted);
  expect(chiSquare(counts, expected)).toBeLessThan(CHI2_CRIT_DF8);
  // power: a verifier that kept every draft would put all the mass on the cells the drafts name
  const alwaysAccept = new Map<string, number>([[[...expected].sort((x, y) => y[1] - x[1])[0][0], N]]);
  expect(chiSquare(alwaysAccept, expected)).toBeGreaterThan(10 * CHI2_CRIT_DF8);
}, 120_000);
