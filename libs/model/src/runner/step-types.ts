/*
 * The ModelRunner's step request and result: plain data mirroring llm.worker.v1's StepRequest /
 * StepResponse (camelCase, numbers and typed arrays), so the service maps protos 1:1 and tests
 * drive the engine without any transport.
 *
 * What this is not: the proto. No gRPC types appear here (libs/model is a pure lib).
 */
import type { StepTraceOptions, StepTraceOut } from './trace-types';

/** Sampling parameters of one sequence, as llm.worker.v1.SamplingParams. */
export interface StepSamplingParams {
  temperature: number; // >= 0; 0 = greedy
  topK: number; // integer >= 0; 0 disables
  topP: number; // [0, 1]; 0 or 1 disables
  minP: number; // [0, 1]; 0 disables
  repetitionPenalty: number; // > 0; 1 disables
  presencePenalty: number;
  frequencyPenalty: number;
  logitBias: ReadonlyMap<number, number>; // token id -> added logit
  seed: number | bigint; // unsigned; with sampleIndex and the output position it fixes every draw
  sampleIndex: number; // which of the request's n parallel samples this sequence is
  numTopLogprobs: number; // 0 .. MAX_TOP_LOGPROBS
  skipLogprob?: boolean; // the chosen token's logprob is not wanted (greedy fast path returns 0 for it)
}

/** A sequence's full sampling state, sent when the worker has not seen the sequence. */
export interface StepSamplingState {
  params: StepSamplingParams;
  promptTokenIds: ArrayLike<number>;
  outputTokenIds: ArrayLike<number>; // its length is the output position of the next draw
  grammarEbnf?: string; // EBNF (start rule root) every draw must follow; empty / absent for none
}

/** How an embedding sequence's hidden states become one vector. */
export type EmbedPooling = 'mean' | 'last';

/** One sequence's work in a step. */
export interface StepSequenceInput {
  seqId: string;
  tokenIds: ArrayLike<number>; // new tokens: a prefill chunk or one decode token
  startPosition: number; // absolute position of tokenIds[0]
  blockIds: ArrayLike<number>; // physical blocks covering 0 .. startPosition + tokenIds.length - 1
  sample: boolean; // sample after the last new token
  state?: StepSamplingState; // required when the worker has no cached state for seqId
  appendedOutputTokenIds?: ArrayLike<number>; // accepted output tokens the worker did not sample itself
  embedPooling?: EmbedPooling; // an embedding sequence: pool hidden states, sample nothing
  promptLogprobs?: boolean; // return the logprob of each next prompt token this chunk predicts
  trace?: StepTraceOptions; // internals trace: record attention rows, MoE routing, sampling candidates
  numSpeculativeTokens?: number; // draft at most this many tokens after the last new token (blockIds cover their slots)
  usePreviousToken?: boolean; // async scheduling: the one new token is the one this worker sampled for the sequence last (tokenIds empty)
}

/** A prompt token's logprob given the tokens before it, with the most likely alternatives. */
export interface PromptTokenLogprob {
  tokenId: number;
  logprob: number;
  topLogprobs: TokenLogprob[];
}

/** A copy-on-write block copy, applied before any new K/V is written. */
export interface StepBlockCopy {
  src: number;
  dst: number;
}

export interface StepInput {
  stepId?: bigint;
  sequences: StepSequenceInput[];
  copies?: StepBlockCopy[];
  releaseSeqIds?: string[]; // cached states dropped after this step
}

export interface TokenLogprob {
  tokenId: number;
  logprob: number;
}

export interface SequenceOutput {
  seqId: string;
  sampled: boolean;
  tokenId: number; // meaningful when sampled
  logprob: number; // the chosen token's logprob (after penalties and temperature)
  topLogprobs: TokenLogprob[]; // numTopLogprobs most likely, most likely first
  embedding?: Float32Array; // (C) an embedding sequence's pooled vector, on its last step
  promptLogprobs?: PromptTokenLogprob[]; // prompt positions start + 1 .. end of the chunk (within the prompt)
  trace?: StepTraceOut; // with StepSequenceInput.trace: what this step recorded
  nextTokenIds?: number[]; // speculative decoding: tokens after tokenId in this step (accepted drafts, then the bonus draw)
  nextLogprobs?: number[]; // their logprobs
  numDraftTokens?: number; // drafts proposed for the sequence in this step
  numAcceptedDraftTokens?: number; // of those, how many were kept
}

export interface StepOutput {
  outputs: SequenceOutput[]; // one per input sequence, in request order
  numTokens: number;
  forwardNs: bigint;
  stepNs: bigint;
  grammarNs: bigint; // computing and applying grammar masks
  draftNs?: bigint; // proposing speculative drafts (0 or absent without speculation)
}

/** Most top logprobs one sequence may ask for (as vLLM's default max_logprobs). */
export const MAX_TOP_LOGPROBS = 20;
