/*
 * The Scheduler serving a burst of prompts (planner.ts's prefill budget and decode deferral) against
 * the real paged allocator and a fake worker, on a hand-stepped clock (each step takes 100 ms), so
 * which sequences share each step is worked out by hand below. Also: a prefill refused for KV
 * blocks makes the next step decode, since only finishing sequences free blocks (deferring then
 * would spin until the deferral limit).
 */
import { KvPools } from '@llm/kv';
import { createInProcessClient } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { buildTokenizerJson } from '@llm/model';
import { loadTokenizerJson } from '@llm/tokenizer';
import { kvImplementation } from '../../bench/services';
import { Scheduler } from './scheduler';
import { Sequence } from './sequence';

const tokenizer = loadTokenizerJson(buildTokenizerJson(300));
const sampling = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: '0', numTopLogprobs: 0 };

function setup(numBlocks: number, limits: { maxNumSeqs: number; maxNumBatchedTokens: number; maxPrefillTokensPerStep: number; maxDecodeDeferMs: number }) {
  const pools = new KvPools();
  pools.registerPool('w', { numBlocks, blockSize: 4 });
  let now = 0;
  /** Per step: each sequence as `request:new tokens`. */
  const steps: string[][] = [];
  const fakeWorker = {
    async step(req: worker.StepRequest): Promise<worker.StepResponse> {
      steps.push(req.sequences.map((s) => `${s.seqId.split('/')[0]}:${s.tokenIds.length}`));
      now += 100;
      return {
        outputs: req.sequences.map((s) => ({ seqId: s.seqId, sampled: s.sample, tokenId: 42, logprob: -1, topLogprobs: [], embeddingF32: Buffer.alloc(0), promptLogprobs: [], trace: undefined, speculative: undefined })),
        numTokens: req.sequences.reduce((a, s) => a + s.tokenIds.length, 0), forwardNs: 0, stepNs: 0, grammarNs: 0,
      };
    },
  };
  const kvClient = createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools));
  const scheduler = new Scheduler({ poolId: 'w', ownerId: 'o', ...limits, kv: kvClient, worker: fakeWorker as never, clock: () => now });
  return { pools, steps, scheduler };
}

function request(id: string, promptLen: number, maxTokens: number, onDelta: (s: Sequence, finished: boolean) => void): Sequence {
  return new Sequence({
    // Distinct prompts (a token per request id): no prefix-cache hits between requests.
    requestId: id, sampleIndex: 0, promptIds: new Array(promptLen).fill(id.charCodeAt(0)), sampling, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
    rules: { maxTokens, minTokens: 0, stopTokenIds: [], eosTokenIds: [299], ignoreEos: true, stop: [], maxContextTokens: 100 },
    onDelta: (s, d) => onDelta(s, d.finishReason !== undefined),
  });
}

/** Resolves when `count` sequences have finished. */
function finishLine(count: number): { done: Promise<void>; onDelta: (s: Sequence, finished: boolean) => void } {
  let left = count;
  let resolve: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolve = r));
  return { done, onDelta: (_s, finished) => finished && --left === 0 && resolve() };
}

describe('Scheduler serving a burst', () => {
  it('prefills the burst two prompts a step, deferring decodes until one has waited 150 ms', async () => {
    const { steps, scheduler, pools } = setup(64, { maxNumSeqs: 16, maxNumBatchedTokens: 64, maxPrefillTokensPerStep: 8, maxDecodeDeferMs: 150 });
    const line = finishLine(7);
    scheduler.add(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => request(id, 4, 2, line.onDelta)));
    await line.done;
    // t=0: a, b (8 prefill tokens).  t=100: a, b waited 0 ms -> c, d.  t=200: a, b waited 100 -> e, f.
    // t=300: a, b waited 200 >= 150 -> every decode (a..f, which finish) and the prefill of g.  t=400: g decodes.
    expect(steps).toEqual([['a:4', 'b:4'], ['c:4', 'd:4'], ['e:4', 'f:4'], ['a:1', 'b:1', 'c:1', 'd:1', 'e:1', 'f:1', 'g:4'], ['g:1']]);
    await scheduler.close();
    expect(pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('without deferral (limit 0) every step carries the decodes: the v1 plan', async () => {
    const { steps, scheduler } = setup(64, { maxNumSeqs: 16, maxNumBatchedTokens: 64, maxPrefillTokensPerStep: 8, maxDecodeDeferMs: 0 });
    const line = finishLine(5);
    scheduler.add(['a', 'b', 'c', 'd', 'e'].map((id) => request(id, 4, 2, line.onDelta)));
    await line.done;
    expect(steps).toEqual([['a:4', 'b:4'], ['a:1', 'b:1', 'c:4', 'd:4'], ['c:1', 'd:1', 'e:4'], ['e:1']]);
    await scheduler.close();
  });

  it('decodes at once when a waiting prompt finds no KV blocks, instead of deferring', async () => {
    // 5 blocks of 4 tokens, 4 usable. `a` (4 + 4 tokens) holds 1-2 blocks; `b` (16 tokens) needs 4, so it
    // waits until `a` finishes. A deferral of a minute would stall the test if `a` kept waiting for b.
    const { steps, scheduler, pools } = setup(5, { maxNumSeqs: 16, maxNumBatchedTokens: 64, maxPrefillTokensPerStep: 64, maxDecodeDeferMs: 60_000 });
    const line = finishLine(2);
    const b = request('b', 16, 1, line.onDelta);
    let added = false;
    const a = request('a', 4, 4, (s, finished) => {
      if (!added) scheduler.add([b]); // b arrives with a's first token
      added = true;
      line.onDelta(s, finished);
    });
    scheduler.add([a]);
    await line.done;
    expect(steps).toEqual([['a:4'], ['a:1'], ['a:1'], ['a:1'], ['b:16']]);
    expect(b.outputIds).toHaveLength(1);
    await scheduler.close();
    expect(pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });
});
