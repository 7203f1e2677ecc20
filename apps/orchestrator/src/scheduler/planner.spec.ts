/*
 * planStep, hand-worked: decodes first (oldest first), then running prefill chunks, then waiting
 * sequences (preempted before new), all under the token budget and the sequence limit.
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
});
