/*
 * Test harness: a Scheduler over the real paged allocator (libs/kv behind the in-process
 * transport) and a real ModelRunner (TS backend, a random llama), so scheduler features
 * (speculative decoding, async scheduling) are checked against what the model really computes.
 * The worker port maps the proto fields these steps use onto the runner's step types.
 *
 * Test-only: the specs in this folder use it; nothing in the served path imports it.
 */
import { KvPools } from '@llm/kv';
import { createInProcessClient } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { buildTokenizerJson, createKvPool, initRandomModel, ModelRunner, NgramSpeculator, TsBackend, tsDecoderFromModel, type StepInput } from '@llm/model';
import { loadTokenizerJson } from '@llm/tokenizer';
import { kvImplementation } from '../../../bench/services';
import { Scheduler } from '../scheduler';
import type { SchedulerOptions } from '../scheduler-options';
import { Sequence } from '../sequence';
import type { StopRules } from '../types';

export const model = initRandomModel('llama', {}, 21);
export const V = model.config.vocabSize;
const tokenizer = loadTokenizerJson(buildTokenizerJson(V));
export const GREEDY = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: '0', numTopLogprobs: 0 };
export const BS = 4;

/** The worker port over a real runner; `log` records every StepRequest. */
export function workerFor(runner: ModelRunner, log: worker.StepRequest[] = []) {
  return {
    async step(req: worker.StepRequest): Promise<worker.StepResponse> {
      log.push(req);
      const input: StepInput = {
        sequences: req.sequences.map((s) => ({
          seqId: s.seqId, tokenIds: s.tokenIds, startPosition: s.startPosition, blockIds: s.blockIds, sample: s.sample, numSpeculativeTokens: s.numSpeculativeTokens, usePreviousToken: s.usePreviousToken,
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

/** A scheduler over `numBlocks` blocks of BS tokens; k > 0 turns prompt-lookup speculation on. */
export function setup(numBlocks: number, k: number, extra: Partial<SchedulerOptions> = {}, wrapWorker: (w: ReturnType<typeof workerFor>) => unknown = (w) => w) {
  const pools = new KvPools();
  pools.registerPool('w', { numBlocks, blockSize: BS });
  const c = model.config;
  const runner = new ModelRunner({
    backend: new TsBackend(tsDecoderFromModel(c, model.weights)), vocabSize: V, maxPositions: c.maxPositions, maxBatchSequences: 8, maxBatchTokens: 256,
    pool: createKvPool({ numBlocks, blockSize: BS, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim }),
    speculator: k > 0 ? new NgramSpeculator() : undefined,
  });
  const steps: worker.StepRequest[] = [];
  const kvClient = createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools));
  let allocations = 0;
  const counted = { ...kvClient, allocateSlots: (...a: Parameters<typeof kvClient.allocateSlots>) => (allocations++, kvClient.allocateSlots(...a)) };
  const scheduler = new Scheduler({
    poolId: 'w', ownerId: 'o', maxNumSeqs: 8, maxNumBatchedTokens: 64, numSpeculativeTokens: k,
    kv: counted as never, worker: wrapWorker(workerFor(runner, steps)) as never, ...extra,
  });
  return { pools, scheduler, steps, allocations: () => allocations };
}

/** A greedy request (unless `sampling` says otherwise) that calls `done` when it finishes. */
export function request(id: string, prompt: number[], maxTokens: number, done: () => void, opts: { rules?: Partial<StopRules>; sampling?: Partial<typeof GREEDY>; onToken?: (s: Sequence) => void } = {}): Sequence {
  return new Sequence({
    requestId: id, sampleIndex: 0, promptIds: prompt, sampling: { ...GREEDY, ...opts.sampling }, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
    rules: { maxTokens, minTokens: 0, stopTokenIds: [], eosTokenIds: [], ignoreEos: true, stop: [], maxContextTokens: 200, ...opts.rules },
    onDelta: (s, d) => {
      opts.onToken?.(s);
      if (d.finishReason) done();
    },
  });
}

/** Runs the prompts to completion together; their output token ids. */
export async function run(scheduler: Scheduler, prompts: number[][], maxTokens: number, opts: Parameters<typeof request>[4] = {}): Promise<number[][]> {
  let left = prompts.length;
  let resolve: () => void = () => undefined;
  const finished = new Promise<void>((r) => (resolve = r));
  const seqs = prompts.map((p, i) => request(`r${i}-${Math.random()}`, p, maxTokens, () => --left === 0 && resolve(), opts));
  scheduler.add(seqs);
  await finished;
  return seqs.map((s) => [...s.outputIds]);
}

export const loop = (base: number[], times: number): number[] => Array.from({ length: times }, () => base).flat();
