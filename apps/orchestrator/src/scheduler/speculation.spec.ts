/*
 * Speculative decoding end to end in the scheduler: the real paged allocator (libs/kv behind the
 * in-process transport) and a real ModelRunner (TS backend, random llama) with prompt lookup.
 * Greedy outputs equal the same run with speculation off, with and without preemption; drafts
 * are really accepted; no lookahead block leaks; and a later request that hits the prefix cache
 * on blocks written through accepted drafts continues exactly as the run without speculation.
 */
import { KvPools } from '@llm/kv';
import { createInProcessClient } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { buildTokenizerJson, createKvPool, initRandomModel, ModelRunner, NgramSpeculator, TsBackend, tsDecoderFromModel, type StepInput } from '@llm/model';
import { loadTokenizerJson } from '@llm/tokenizer';
import { kvImplementation } from '../../bench/services';
import { Scheduler } from './scheduler';
import { Sequence } from './sequence';

const model = initRandomModel('llama', {}, 21);
const V = model.config.vocabSize;
const tokenizer = loadTokenizerJson(buildTokenizerJson(V));
const sampling = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: '0', numTopLogprobs: 0 };
const BS = 4;

/** The worker port over a real runner (the subset of the proto mapping these steps use). */
function workerFor(runner: ModelRunner) {
  return {
    async step(req: worker.StepRequest): Promise<worker.StepResponse> {
      const input: StepInput = {
        sequences: req.sequences.map((s) => ({
          seqId: s.seqId, tokenIds: s.tokenIds, startPosition: s.startPosition, blockIds: s.blockIds, sample: s.sample, numSpeculativeTokens: s.numSpeculativeTokens,
          state: s.state && { params: { ...(s.state.params as worker.SamplingParams), logitBias: new Map(), seed: BigInt(s.state.params?.seed ?? 0) }, promptTokenIds: s.state.promptTokenIds, outputTokenIds: s.state.outputTokenIds },
        })),
        copies: req.copies.map((c) => ({ src: c.srcBlockId, dst: c.dstBlockId })),
        releaseSeqIds: req.releaseSeqIds,
      };
      const out = await runner.step(input);
      return {
        outputs: out.outputs.map((o) => ({
          seqId: o.seqId, sampled: o.sampled, tokenId: o.tokenId, logprob: o.logprob, topLogprobs: [], embeddingF32: Buffer.alloc(0), promptLogprobs: [], trace: undefined,
          speculative: o.numDraftTokens ? { nextTokenIds: o.nextTokenIds ?? [], nextLogprobs: o.nextLogprobs ?? [], numDraftTokens: o.numDraftTokens, numAcceptedDraftTokens: o.numAcceptedDraftTokens ?? 0 } : undefined,
        })),
        numTokens: out.numTokens, forwardNs: 0, stepNs: 0, grammarNs: 0,
      };
    },
  };
}

function setup(numBlocks: number, k: number) {
  const pools = new KvPools();
  pools.registerPool('w', { numBlocks, blockSize: BS });
  const c = model.config;
  const runner = new ModelRunner({
    backend: new TsBackend(tsDecoderFromModel(c, model.weights)), vocabSize: V, maxPositions: c.maxPositions, maxBatchSequences: 8, maxBatchTokens: 256,
    pool: createKvPool({ numBlocks, blockSize: BS, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim }),
    speculator: k > 0 ? new NgramSpeculator() : undefined,
  });
  const scheduler = new Scheduler({
    poolId: 'w', ownerId: 'o', maxNumSeqs: 8, maxNumBatchedTokens: 64, numSpeculativeTokens: k,
    kv: createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools)), worker: workerFor(runner) as never,
  });
  return { pools, scheduler };
}

function request(id: string, prompt: number[], maxTokens: number, done: () => void): Sequence {
  return new Sequence({
    requestId: id, sampleIndex: 0, promptIds: prompt, sampling, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
    rules: { maxTokens, minTokens: 0, stopTokenIds: [], eosTokenIds: [], ignoreEos: true, stop: [], maxContextTokens: 200 },
    onDelta: (_s, d) => d.finishReason && done(),
  });
}

async function run(scheduler: Scheduler, prompts: number[][], maxTokens: number): Promise<number[][]> {
  let left = prompts.length;
  let resolve: () => void = () => undefined;
  const finished = new Promise<void>((r) => (resolve = r));
  const seqs = prompts.map((p, i) => request(`r${i}-${Math.random()}`, p, maxTokens, () => --left === 0 && resolve()));
  scheduler.add(seqs);
  await finished;
  return seqs.map((s) => [...s.outputIds]);
}

const loop = (base: number[], times: number) => Array.from({ length: times }, () => base).flat();
const prompts = [loop([5, 17, 99, 3], 4), loop([40, 41, 42, 43, 44, 45], 3), [7, 300, 12, 7, 300, 12, 7]];

describe('Scheduler with speculative decoding', () => {
  it('gives the greedy outputs of the run without speculation, accepting drafts, leaking no block', async () => {
    const off = setup(64, 0);
    const want = await run(off.scheduler, prompts, 30);
    await off.scheduler.close();
    const on = setup(64, 4);
    const got = await run(on.scheduler, prompts, 30);
    expect(got).toEqual(want);
    const { numDraftTokens, numAcceptedDraftTokens, numSteps, numSampledTokens } = on.scheduler.stats;
    expect(numAcceptedDraftTokens).toBeGreaterThan(0);
    expect(numDraftTokens).toBeGreaterThanOrEqual(numAcceptedDraftTokens);
    expect(numSampledTokens).toBe(90);
    expect(numSteps).toBeLessThan(off.scheduler.stats.numSteps);
    await on.scheduler.close();
    expect(on.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('keeps the outputs under preemption (a pool too small for every sequence and its lookahead)', async () => {
    const off = setup(64, 0);
    const want = await run(off.scheduler, prompts, 30);
    await off.scheduler.close();
    const tight = setup(26, 4); // 25 usable blocks of 4: three sequences of up to 46 tokens need 36
    const got = await run(tight.scheduler, prompts, 30);
    expect(got).toEqual(want);
    expect(tight.scheduler.stats.numPreemptions).toBeGreaterThan(0);
    await tight.scheduler.close();
    expect(tight.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('a prefix-cache hit on blocks written through accepted drafts continues as without speculation', async () => {
    const on = setup(64, 4);
    const [first] = await run(on.scheduler, [prompts[0]], 24);
    const followUp = [...prompts[0], ...first, 9, 8];
    const [got] = await run(on.scheduler, [followUp], 12);
    const stats = on.pools.stats('w');
    expect(stats.numHitTokens).toBeGreaterThanOrEqual(Math.floor((prompts[0].length + 16) / BS) * BS); // blocks past the prompt were reused
    await on.scheduler.close();
    const off = setup(64, 0);
    const [want] = await run(off.scheduler, [followUp], 12);
    await off.scheduler.close();
    expect(got).toEqual(want);
  });
});
