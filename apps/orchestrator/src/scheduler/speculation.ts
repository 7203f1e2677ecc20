/*
 * The scheduler's side of speculative decoding: how many lookahead slots a decoding sequence asks
 * the kv-manager for (the worker drafts and verifies up to that many tokens in the step), and the
 * bookkeeping of accepted drafts between steps. The worker's GetModelInfo says whether it
 * speculates and its K; the kv-manager grants the slots only when they fit.
 *
 *   step n:   AllocateSlots(new=[t], lookahead=K) -> Step(ids=[t], num_speculative_tokens=granted)
 *             <- token_id, next_token_ids (a accepted drafts + 1 more)
 *   step n+1: AllocateSlots(new=[d1..da, b], accepted_lookahead=a)   (their K/V is written; b is not)
 *
 * What this is not: drafting or verification (the worker), or slot accounting (the kv-manager).
 */
import type { Sequence } from './sequence';

/**
 * Lookahead slots for a sequence decoding one token: at most k, never more drafts than
 * max_tokens or the context can still take (the step yields the drafts plus one more token);
 * 0 for a sequence the worker would not let speculate (grammar, top logprobs, prompt logprobs,
 * pooling, trace).
 */
export function lookaheadFor(s: Sequence, k: number): number {
  if (k <= 0 || s.grammarEbnf || s.sampling.numTopLogprobs > 0 || s.promptLogprobsTop !== undefined || s.embedPooling || s.trace) return 0;
  const outputsLeft = s.rules.maxTokens - s.outputIds.length;
  const contextLeft = s.rules.maxContextTokens - s.numTokens;
  return Math.max(0, Math.min(k, outputsLeft - 1, contextLeft - 1));
}

/** A worker output's speculative part, as the scheduler reads it. */
export interface SpeculativeResult {
  nextTokenIds: number[];
  nextLogprobs: number[];
  numDraftTokens: number;
  numAcceptedDraftTokens: number;
}
