/*
 * planStep, hand-worked: decodes first (oldest first), then running prefill chunks, then waiting
 * sequences (preempted before new), all under the token budget and the sequence limit; the
 * per-step prefill budget (whole prompts, first come first served) and bounded decode deferral.
 */
import { loadTokenizerJson } from '@llm/tokenizer';
import { buildTokenizerJson } from '@llm/model';
import { planStep } from './planner';
import { Sequence } from './sequence';

const tokenizer = loadTokenizerJson(buildTokenizerJson(300));
const sampling = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: '0', numTopLogprobs: 0 };
const rules = { maxTokens: 10, minTokens: 0, stopTokenIds: [], eosTokenIds: [299], ignoreEos: false, stop: [], maxContextTokens: 100 };

function seq(promptLen: number, computed: number, status: 'waiting' | 'running', numPreemptions = 0): Sequence {
  const s = new Sequence({ requestId: 'r', sampleIndex: 0, promptIds: new Array(promptLen).fill(7), sampling, rules, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false, onDelta: () => undefined });
  s.status = status;
  s.numComputedTokens = computed;
  s.numPreemptions = numPreemptions;
  return s;
}

describe('planStep', () => {
  it('schedules decodes, then prefill chunks, then waiting sequences, within the budget', () => {
    const prefilling = seq(20, 8, 'running'); // oldest: 12 tokens left
    const decoding1 = seq(5, 4, 'running'); // 1 token left
    const decoding2 = seq(6, 5, 'running');
    const newOne = seq(30, 0, 'waiting');
    const preempted = seq(9, 0, 'waiting', 1);
    const plan = planStep([prefilling, decoding1, decoding2], [newOne, preempted], { maxNumSeqs: 10, maxNumBatchedTokens: 20 });
    // budget 20: decodes 1 + 1, prefill chunk 12 -> 6 left: the preempted one (9 tokens) gets 6, the new one nothing.
    expect(plan.map((x) => [x.seq, x.numTokensToCompute, x.isNew])).toEqual([
      [decoding1, 1, false],
      [decoding2, 1, false],
      [prefilling, 12, false],
      [preempted, 6, true],
    ]);
  });

  it('respects max_num_seqs and skips cancelled or not-yet-ready samples', () => {
    const a = seq(3, 2, 'running');
    const b = seq(3, 2, 'running');
    b.cancelled = true;
    const parent = seq(4, 0, 'waiting');
    const child = new Sequence({ requestId: 'r', sampleIndex: 1, promptIds: [1, 2, 3, 4], sampling, rules, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false, onDelta: () => undefined, after: parent });
    const plan = planStep([a, b], [parent, child], { maxNumSeqs: 2, maxNumBatchedTokens: 100 });
    expect(plan.map((x) => x.seq)).toEqual([a, parent]);
  });

  describe('a per-step prefill budget', () => {
    const limits = { maxNumSeqs: 64, maxNumBatchedTokens: 2048, maxPrefillTokensPerStep: 256 };

    it('takes whole prompts first come first served, and a prompt that does not fit ends the prefills', () => {
      const [a, b, c, short] = [seq(100, 0, 'waiting'), seq(100, 0, 'waiting'), seq(100, 0, 'waiting'), seq(30, 0, 'waiting')];
      // 100 + 100 = 200; c (100) does not fit the 56 left and is not chunked; `short` (30) would fit but does not jump c.
      expect(planStep([], [short, c, b, a].reverse(), limits).map((x) => [x.seq, x.numTokensToCompute])).toEqual([[a, 100], [b, 100]]);
      // Without a prefill budget the step budget (here 250) is filled, chunking the last prompt: 100 + 100 + 50.
      expect(planStep([], [a, b, c, short], { maxNumSeqs: 64, maxNumBatchedTokens: 250 }).map((x) => x.numTokensToCompute)).toEqual([100, 100, 50]);
    });

    it('chunks a prompt only when it comes first and alone exceeds the budget', () => {
      const long = seq(600, 0, 'waiting');
      const next = seq(100, 0, 'waiting');
      expect(planStep([], [long, next], limits).map((x) => [x.seq, x.numTokensToCompute])).toEqual([[long, 256]]);
      // Later: the running chunk has 600 - 512 = 88 left, then the next prompt fits (88 + 100 <= 256).
      const running = seq(600, 512, 'running');
      expect(planStep([running], [next], limits).map((x) => [x.seq, x.numTokensToCompute, x.isNew])).toEqual([[running, 88, false], [next, 100, true]]);
    });

    it('shares what the decodes leave of the step budget', () => {
      const [d1, d2] = [seq(5, 4, 'running'), seq(6, 5, 'running')];
      const [w1, w2] = [seq(30, 0, 'waiting'), seq(30, 0, 'waiting')];
      // Budget 40: decodes 2, prefill min(38, 256) = 38: w1 (30) fits, w2 (30 > 8) waits whole.
      const plan = planStep([d1, d2], [w1, w2], { maxNumSeqs: 8, maxNumBatchedTokens: 40, maxPrefillTokensPerStep: 256 });
      expect(plan.map((x) => [x.seq, x.numTokensToCompute])).toEqual([[d1, 1], [d2, 1], [w1, 30]]);
    });
  });

  describe('decode deferral while prompts wait', () => {
    const limits = { maxNumSeqs: 64, maxNumBatchedTokens: 2048, maxPrefillTokensPerStep: 256, maxDecodeDeferMs: 500 };
    function decoding(computedAt: number): Sequence {
      const s = seq(5, 4, 'running');
      s.computedAt = computedAt;
      return s;
    }

    it('skips the decodes until one of them has waited the limit, then runs them all', () => {
      const [d1, d2] = [decoding(1000), decoding(1200)];
      const w = seq(50, 0, 'waiting');
      const at = (now: number, decodeNow = false) => planStep([d2, d1], [w], limits, { now, decodeNow }).map((x) => [x.seq, x.numTokensToCompute]);
      expect(at(1400)).toEqual([[w, 50]]); // d1 waited 400 ms, d2 200 ms: both under 500
      expect(at(1499)).toEqual([[w, 50]]);
      expect(at(1500)).toEqual([[d1, 1], [d2, 1], [w, 50]]); // d1 reached 500 ms: every decode joins, oldest first
      expect(at(1400, true)).toEqual([[d1, 1], [d2, 1], [w, 50]]); // the last step's prefills found no blocks
    });

    it('counts a running prefill chunk as waiting work', () => {
      const d = decoding(1000);
      const chunked = seq(400, 256, 'running');
      expect(planStep([d, chunked], [], limits, { now: 1100 }).map((x) => [x.seq, x.numTokensToCompute])).toEqual([[chunked, 144]]);
    });

    it('never defers with nothing to prefill, nor when the limit is 0', () => {
      const [d1, d2] = [decoding(1000), decoding(1000)];
      expect(planStep([d1, d2], [], limits, { now: 1001 }).map((x) => x.seq)).toEqual([d1, d2]);
      const w = seq(50, 0, 'waiting');
      expect(planStep([d1, d2], [w], { ...limits, maxDecodeDeferMs: 0 }, { now: 1001 }).map((x) => x.seq)).toEqual([d1, d2, w]);
      // A waiting sample not yet ready (n > 1 before its parent samples) is no prefill to wait for.
      const parent = seq(4, 0, 'waiting');
      const child = new Sequence({ requestId: 'r', sampleIndex: 1, promptIds: [1, 2, 3, 4], sampling, rules, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false, onDelta: () => undefined, after: parent });
      parent.status = 'running';
      parent.numComputedTokens = 4;
      expect(planStep([d1], [child], limits, { now: 1001 }).map((x) => x.seq)).toEqual([d1]);
    });
  });
});
