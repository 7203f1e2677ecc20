/*
 * Plain data the scheduler core takes and gives: a sample's sampling parameters (as the worker
 * wants them), its stop rules, and the deltas it emits. No proto or transport types here: the
 * scheduler's ports (ports.ts) are the only place that speaks the wire contracts.
 */

export type FinishReason = 'stop' | 'length' | 'abort';

/** Sampling parameters of one sample, in the worker's terms (llm.worker.v1.SamplingParams). */
export interface SampleSampling {
  temperature: number; // >= 0; 0 = greedy
  topK: number; // 0 = off
  topP: number; // 1 = off
  minP: number; // 0 = off
  repetitionPenalty: number; // 1 = off
  presencePenalty: number;
  frequencyPenalty: number;
  logitBias: Record<number, number>;
  seed: string; // a uint64 as a decimal string; with the sample index and output position it fixes every draw
  numTopLogprobs: number;
  skipLogprob?: boolean; // the client did not ask for logprobs: the worker may skip computing the chosen token's
}

/** When a sample ends (the scheduler alone decides). */
export interface StopRules {
  maxTokens: number; // >= 1
  minTokens: number; // EOS / stop ids / stop strings are ignored before this many tokens
  stopTokenIds: readonly number[];
  eosTokenIds: readonly number[];
  ignoreEos: boolean;
  stop: readonly string[];
  maxContextTokens: number; // prompt + output never exceed this
}

export interface TopLogprobOut {
  tokenId: number;
  logprob: number;
}

/** One sampled token's logprob data. */
export interface TokenLogprobOut {
  tokenId: number;
  logprob: number;
  top: TopLogprobOut[];
}

/** What one sample produced in one step. */
export interface SampleDelta {
  sampleIndex: number;
  /** Number of this sample's tokens before this delta. */
  tokenOffset: number;
  tokenIds: number[];
  text: string;
  logprobs: TokenLogprobOut[];
  finishReason?: FinishReason;
  /** The stop string, or the stop / EOS token id as text. */
  stopReason?: string;
  /** The stop token id (from stop_token_ids) that ended the sample, when one did. */
  stopTokenId?: number;
  /** Set when the sample was aborted by a failure (not by the client): what went wrong. */
  error?: Error;
  /** On the first delta of a sample that asked for them: the prompt tokens' logprobs (from the second token on). */
  promptLogprobs?: TokenLogprobOut[];
}
