/*
 * One sequence's share of a scheduler step: what AllocateSlots gave it (Allocated) and the
 * worker's StepSequence built from it (tokens to compute, where, whether to sample, the sampling
 * state on first contact, lookahead slots for speculative drafts), the StepSequence of the step
 * pipelined behind it (async scheduling), and the shape of its output.
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
  lookahead: number; // lookahead slots granted (speculative decoding, or the pipelined step's slot)
  pipelined?: boolean; // async scheduling: its lookahead slots are for the steps sent behind this one
  slot?: number; // async scheduling, a pipelined step: which of the allocation's lookahead slots it computes (1-based)
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
  return { seqId: s.seqId, tokenIds: s.tokens(a.start, a.start + a.count), startPosition: a.start, blockIds: a.blockIds, sample, state, embedPooling, promptLogprobs, trace: s.trace?.stepOptions, numSpeculativeTokens: sample && !a.pipelined ? a.lookahead : 0 };
}

/**
 * Async scheduling: the sequence's StepSequence in the step sent right behind the one that samples
 * its next token. It computes that token (the worker's last sample: use_previous_token) at the next
 * position, in the lookahead slot the first step's allocation granted, and samples the one after.
 */
export function pipelinedStepSequenceOf(a: Allocated) {
  return { seqId: a.seq.seqId, tokenIds: [], startPosition: a.start + a.count, blockIds: a.blockIds, sample: true, usePreviousToken: true, numSpeculativeTokens: 0 };
}
