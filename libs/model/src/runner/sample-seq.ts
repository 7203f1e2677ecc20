/*
 * Draws one sequence's next token from its logits row with the library's sampler: penalties,
 * bias, temperature, top-k/p, min-p, then inverse CDF with the counter-based uniform
 * u = hash(seed, sample index, output position), so a recomputed or moved sequence draws the
 * same token. Returns the chosen token's logprob and the requested top logprobs.
 *
 * What this is not: a stop-condition check; the scheduler decides when a sequence is finished.
 */
import { sampleToken, uniformFromCounter } from '../sampling';
import type { CachedSeqState } from './seq-state';
import type { TokenLogprob } from './step-types';

export interface Drawn {
  tokenId: number;
  logprob: number;
  topLogprobs: TokenLogprob[];
}

export function sampleSequence(logits: Float32Array, state: CachedSeqState): Drawn {
  const u = uniformFromCounter(state.params.seed, state.params.sampleIndex, state.numOutputTokens);
  const r = sampleToken(logits, state.samplerParams, state.counts, u);
  return { tokenId: r.token, logprob: r.logprob, topLogprobs: r.topLogprobs.map((e) => ({ tokenId: e.token, logprob: e.logprob })) };
}
