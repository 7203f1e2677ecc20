/*
 * Speculative decoding through the ModelRunner (TS backend): greedy tokens equal the reference
 * generate's (top-2 margins asserted) with prompt lookup and with a draft model, while the steps
 * really accept drafts (fewer steps than tokens); a draft model equal to the target has every
 * draft accepted; a sequence that may not speculate (top logprobs) ignores the request; and the
 * lookahead slots' block coverage is validated.
 */
import { initRandomModel } from '../init-random';
import { generate, type SamplingParams } from '../sampling';
import { Transformer } from '../transformer/transformer';
import { createKvPool } from '../runner/kv-pool';
import { ModelRunner } from '../runner/model-runner';
import type { StepSamplingParams } from '../runner/step-types';
import { TsBackend } from '../runner/ts-backend';
import { tsDecoderFromModel } from '../runner/ts-decoder';
import { DraftModelSpeculator } from './draft-model';
import { NgramSpeculator, type Speculator } from './speculator';

const GREEDY: StepSamplingParams = {
  temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
  logitBias: new Map(), seed: 0n, sampleIndex: 0, numTopLogprobs: 0,
};
const toLib = (p: StepSamplingParams): SamplingParams => ({ ...p, logitBias: new Map(p.logitBias), logprobs: p.numTopLogprobs });

const BS = 4;
const NUM_BLOCKS = 40;
const target = initRandomModel('llama', {}, 21);
type Model = ReturnType<typeof initRandomModel>;

function draftOf(model: Model, numBlocks: number, minDraftProb = 0): Speculator {
  const c = model.config;
  return new DraftModelSpeculator(new TsBackend(tsDecoderFromModel(c, model.weights)), { vocabSize: c.vocabSize, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim }, { numBlocks, blockSize: BS }, minDraftProb);
}

function runnerWith(speculator?: (numBlocks: number) => Speculator): ModelRunner {
  const c = target.config;
  const pool = createKvPool({ numBlocks: NUM_BLOCKS, blockSize: BS, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim });
  return new ModelRunner({
    backend: new TsBackend(tsDecoderFromModel(c, target.weights)), pool, vocabSize: c.vocabSize, maxPositions: c.maxPositions,
    maxBatchSequences: 8, maxBatchTokens: 256, speculator: speculator?.(NUM_BLOCKS),
  });
}

/** Greedy decode of maxTokens with up to k drafts per step; blocks are a fixed scrambled table. */
async function decode(runner: ModelRunner, prompt: number[], maxTokens: number, k: number, params = GREEDY) {
  const blockIds = Array.from({ length: NUM_BLOCKS - 1 }, (_, b) => ((b * 17) % (NUM_BLOCKS - 1)) + 1);
  const tokens: number[] = [];
  let steps = 0, drafted = 0, accepted = 0;
  let next = { tokenIds: prompt, startPosition: 0 };
  while (tokens.length < maxTokens) {
    const out = await runner.step({
      sequences: [{ seqId: 's', ...next, blockIds, sample: true, numSpeculativeTokens: k, state: steps === 0 ? { params, promptTokenIds: prompt, outputTokenIds: [] } : undefined }],
    });
    const o = out.outputs[0];
    steps++;
    drafted += o.numDraftTokens ?? 0;
    accepted += o.numAcceptedDraftTokens ?? 0;
    tokens.push(o.tokenId, ...(o.nextTokenIds ?? []));
    next = { tokenIds: [tokens[tokens.length - 1]], startPosition: prompt.length + tokens.length - 1 };
  }
  return { tokens: tokens.slice(0, maxTokens), steps, drafted, accepted };
}

describe('speculative decoding in the ModelRunner', () => {
  // a repetitive prompt: prompt lookup finds its n-grams again
  const prompt = [5, 17, 99, 3, 42, 7, 5, 17, 99, 3, 42, 7, 5, 17];
  const N = 24;
  let want: number[];

  beforeAll(async () => {
    const ref = await generate(new Transformer(target.config, target.weights), prompt, { maxTokens: N, sampling: toLib(GREEDY) });
    expect(Math.min(...ref.margins)).toBeGreaterThan(1e-4);
    want = ref.tokens;
  });

  it('without speculation reproduces the reference greedy tokens (the baseline)', async () => {
    const got = await decode(runnerWith(), prompt, N, 0);
    expect(got.tokens).toEqual(want);
    expect(got.steps).toBe(N);
  });

  it('prompt lookup gives the same greedy tokens in fewer steps', async () => {
    const got = await decode(runnerWith(() => new NgramSpeculator()), prompt, N, 4);
    expect(got.tokens).toEqual(want);
    expect(got.drafted).toBeGreaterThan(0);
    expect(got.accepted).toBeGreaterThan(0);
    expect(got.steps + got.accepted).toBeGreaterThanOrEqual(N); // every step yields 1 + its accepted drafts
    expect(got.steps).toBeLessThan(N);
  });

  it('a draft model gives the same greedy tokens; the target as its own draft has every draft accepted', async () => {
    const other = await decode(runnerWith((n) => draftOf(initRandomModel('llama', { numLayers: 1 }, 5), n)), prompt, N, 3);
    expect(other.tokens).toEqual(want);
    const self = await decode(runnerWith((n) => draftOf(target, n)), prompt, N, 3);
    expect(self.tokens).toEqual(want);
    expect(self.accepted).toBe(self.drafted);
    expect(self.steps).toBe(Math.ceil(N / 4)); // 3 drafts + 1 bonus per step
  });

  it('a draft model stops drafting after a draft it gives less than minDraftProb', async () => {
    const got = await decode(runnerWith((n) => draftOf(target, n, 1.01)), prompt, N, 3); // every probability < 1.01: one draft per step
    expect(got.tokens).toEqual(want);
    expect(got.drafted).toBe(got.steps);
    expect(got.accepted).toBe(got.drafted); // the target is its own draft
    expect(got.steps).toBe(N / 2);
  });

  it('ignores the request for a sequence that asks for top logprobs', async () => {
    const got = await decode(runnerWith(() => new NgramSpeculator()), prompt, 6, 4, { ...GREEDY, numTopLogprobs: 2 });
    expect(got.drafted).toBe(0);
    expect(got.tokens).toEqual(want.slice(0, 6));
  });

  it('refuses block ids that do not cover the lookahead slots, naming the field', async () => {
    const runner = runnerWith(() => new NgramSpeculator());
    const state = { params: GREEDY, promptTokenIds: [1, 2, 3], outputTokenIds: [] };
    await expect(runner.step({ sequences: [{ seqId: 'x', tokenIds: [1, 2, 3], startPosition: 0, blockIds: [1], sample: true, numSpeculativeTokens: 2, state }] }))
      .rejects.toThrow(/block_ids/);
    await expect(runner.step({ sequences: [{ seqId: 'x', tokenIds: [1, 2, 3], startPosition: 0, blockIds: [1, 2], sample: false, numSpeculativeTokens: 2, state }] }))
      .rejects.toThrow(/num_speculative_tokens = 2 needs sample = true/);
  });
});
