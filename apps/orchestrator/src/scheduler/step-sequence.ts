/*
 * One sequence's share of a scheduler step: what AllocateSlots gave it (Allocated) and the
 * worker's StepSequence built from it (tokens to compute, where, whether to sample, the sampling
 * state on first contact, lookahead slots for speculative drafts), and the shape of its output.
 * What it is not: the step loop (scheduler.ts) or the plan (planner.ts).
 */
import { worker } from '@llm/proto';
import type { Sequence } from './sequence';
import type { SpeculativeResult } from './speculation';

export interface Allocated {
  seq: Sequence;
  start: number; // first position computed in this step
  count: number; // tokens computed in this step
  blockIds: number[];
  firstOfIncarnation: boolean;
  lookahead: number; // lookahead slots granted (speculative decoding)
}

/** The worker's answer for one sequence of a step (worker.SequenceOutput's fields the scheduler reads). */
export interface StepOutput {
  sampled: boolean;
  tokenId: number;
  logprob: number;
  topLogprobs: { tokenId: number; logprob: number }[];
  embeddingF32?: Uint8Array;
  promptLogprobs?: { tokenId: number; logprob: number; topLogprobs: { tokenId: number; logprob: number }[] }[];
  speculative?: SpeculativeResult;
}

/** The StepSequence of an allocated sequence (the sampling state travels only until the worker has it). */
export function stepSequenceOf(a: Allocated) {
  const s = a.seq;
  const sample = a.start + a.count === s.numTokens;
  const state = s.workerHasState
    ? undefined
    : { params: { ...s.sampling, sampleIndex: s.sampleIndex, skipLogprob: (s.sampling.skipLogprob ?? false) && !s.trace }, promptTokenIds: [...s.promptIds], outputTokenIds: [...s.outputIds], grammarEbnf: s.grammarEbnf };
  const embedPooling = s.embedPooling === 'mean' ? worker.Pooling.POOLING_MEAN : s.embedPooling === 'last' ? worker.Pooling.POOLING_LAST : worker.Pooling.POOLING_UNSPECIFIED;
  const promptLogprobs = s.promptLogprobsTop !== undefined && a.start < s.promptIds.length - 1;
  return { seqId: s.seqId, tokenIds: s.tokens(a.start, a.start + a.count), startPosition: a.start, blockIds: a.blockIds, sample, state, embedPooling, promptLogprobs, trace: s.trace?.stepOptions, numSpeculativeTokens: sample ? a.lookahead : 0 };
}
