/*
 * Scheduler against the real paged allocator (libs/kv behind the in-process transport) and a
 * fake worker whose "model" is a fixed function of the position (token = 10 + (p + 1) % 50), so
 * the expected outputs are known by hand. Checks the step protocol (chunks, positions, sampling
 * only at the end of a prompt), preemption of the newest sequence when blocks run out, and that a
 * recomputed sequence ends with exactly the tokens it would have had.
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
const next = (position: number) => 10 + ((position + 1) % 50);

function setup(numBlocks: number, limits: { maxNumSeqs: number; maxNumBatchedTokens: number }) {
  const pools = new KvPools();
  pools.registerPool('w', { numBlocks, blockSize: 4 });
  const steps: worker.StepRequest[] = [];
  const fakeWorker = {
    async step(req: worker.StepRequest): Promise<worker.StepResponse> {
      steps.push(req);
      return {
        outputs: req.sequences.map((s) => ({ seqId: s.seqId, sampled: s.sample, tokenId: next(s.startPosition + s.tokenIds.length - 1), logprob: -1, topLogprobs: [], embeddingF32: Buffer.alloc(0), promptLogprobs: [], trace: undefined, speculative: undefined })),
        numTokens: req.sequences.reduce((a, s) => a + s.tokenIds.length, 0), forwardNs: 0, stepNs: 0, grammarNs: 0,
      };
    },
  };
  const scheduler = new Scheduler({ poolId: 'w', ownerId: 'o', ...limits, kv: createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools)), worker: fakeWorker as never });
  return { pools, steps, scheduler };
}

function request(id: string, prompt: number[], maxTokens: number, done: (s: Sequence) => void): Sequence {
  return new Sequence({
    requestId: id, sampleIndex: 0, promptIds: prompt, sampling, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
    rules: { maxTokens, minTokens: 0, stopTokenIds: [], eosTokenIds: [299], ignoreEos: false, stop: [], maxContextTokens: 100 },
    onDelta: (s, d) => d.finishReason && done(s),
  });
}

async function runAll(scheduler: Scheduler, seqs: (done: (s: Sequence) => void) => Sequence[]): Promise<Sequence[]> {
  let left = 0;
  let resolve: () => void = () => undefined;
  const finished = new Promise<void>((r) => (resolve = r));
  const list = seqs(() => --left === 0 && resolve());
  left = list.length;
  scheduler.add(list);
  await finished;
  return list;
}

describe('Scheduler', () => {
  it('chunks a long prompt under the token budget and samples only at its end', async () => {
    const { steps, scheduler } = setup(32, { maxNumSeqs: 4, maxNumBatchedTokens: 5 });
    const [s] = await runAll(scheduler, (done) => [request('a', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 3, done)]);
    // 12 prompt tokens in chunks of 5, 5, 2 (the last samples), then 2 decodes.
    expect(steps.map((r) => r.sequences.map((q) => [q.startPosition, q.tokenIds.length, q.sample]))).toEqual([
      [[0, 5, false]], [[5, 5, false]], [[10, 2, true]], [[12, 1, true]], [[13, 1, true]],
    ]);
    expect(steps[0].sequences[0].state).toBeDefined(); // first sight: full sampling state
    expect(steps[1].sequences[0].state).toBeUndefined(); // cached by the worker afterwards
    expect(s.outputIds).toEqual([next(11), next(12), next(13)]);
    await scheduler.close();
  });

  it('preempts the newest sequence when blocks run out and still produces every token', async () => {
    // 8 usable blocks of 4 tokens; three sequences of 4 + 8 tokens need 3 blocks each (9 > 8).
    const { pools, scheduler } = setup(9, { maxNumSeqs: 8, maxNumBatchedTokens: 64 });
    const seqs = await runAll(scheduler, (done) => ['a', 'b', 'c'].map((id, i) => request(id, [1 + i, 2, 3, 4], 8, done)));
    for (const s of seqs) expect(s.outputIds).toEqual(Array.from({ length: 8 }, (_, k) => next(3 + k)));
    expect(seqs[0].numPreemptions).toBe(0);
    expect(seqs[2].numPreemptions).toBeGreaterThan(0);
    expect(scheduler.stats.numPreemptions).toBe(seqs.reduce((a, s) => a + s.numPreemptions, 0));
    await scheduler.close();
    expect(pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('a cancelled sequence ends with abort and its blocks are freed at the next step', async () => {
    const { pools, scheduler } = setup(32, { maxNumSeqs: 4, maxNumBatchedTokens: 16 });
    let aborted = false;
    const s = new Sequence({
      requestId: 'x', sampleIndex: 0, promptIds: [1, 2, 3], sampling, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
      rules: { maxTokens: 50, minTokens: 0, stopTokenIds: [], eosTokenIds: [299], ignoreEos: true, stop: [], maxContextTokens: 100 },
      onDelta: (seq, d) => {
        if (seq.outputIds.length === 2 && !seq.cancelled) scheduler.cancel([seq]);
        if (d.finishReason === 'abort') aborted = true;
      },
    });
    scheduler.add([s]);
    while (!aborted) await new Promise((r) => setTimeout(r, 5));
    expect(s.outputIds.length).toBeLessThan(50);
    await new Promise((r) => setTimeout(r, 10));
    expect(pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
    await scheduler.close();
  });
});
