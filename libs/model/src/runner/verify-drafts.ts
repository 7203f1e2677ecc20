/*
 * Verifies one sequence's speculative drafts against the target's logit rows of the same step.
 * Row j (j = 0 .. d) holds the target's logits after the sequence's last token and drafts
 * d_1 .. d_j, so row j is what a non-speculative step would have sampled from at output position
 * numOutputTokens + j, given the drafts before it were the tokens chosen.
 *
 *   rows:   r0      r1      r2      r3          drafts d1 d2 d3 (d = 3)
 *   greedy: argmax(r0) == d1 ? keep : emit argmax(r0), stop; ... all kept: emit argmax(r3) (bonus)
 *   sample: keep d_j with min(1, p_j(d_j) / q(d_j)), else draw norm(max(0, p_j - q)) and stop
 *
 * Greedy uses the very draw a non-speculative step makes (sampleSequence, with every accepted
 * token appended to the state first, so penalties see the same counts): the output is identical
 * token for token. Sampling keeps the target distribution (rejection.ts) with the draft's q when
 * the proposer sampled its drafts (a draft model at temperature > 0), else q = onehot(d_j)
 * (prompt lookup, greedy drafts); its uniforms are counter-based (uniforms.ts).
 *
 * What this is not: proposing drafts (../speculative) or the step around it (model-runner.ts).
 */
import { uniformFromCounter } from '../sampling';
import { acceptOrResample } from '../speculative/rejection';
import { acceptUniform } from '../speculative/uniforms';
import { targetDistribution } from '../speculative/target-dist';
import { sampleSequence } from './sample-seq';
import type { CachedSeqState } from './seq-state';

export interface Verified {
  /** The tokens this step produced: the accepted drafts, then one more draw (>= 1 token). */
  tokens: number[];
  logprobs: number[];
  numAccepted: number;
}

/**
 * logits (rows, V); the sequence's rows start at row0; q[j] (V) the distribution draft j was drawn
 * from (absent: deterministic drafts); append records one output token in the state.
 */
export function verifyDrafts(logits: Float32Array, row0: number, V: number, drafts: readonly number[], q: readonly Float64Array[] | undefined, state: CachedSeqState, append: (token: number) => void): Verified {
  const tokens: number[] = [];
  const logprobs: number[] = [];
  let numAccepted = 0;
  for (let j = 0; j <= drafts.length; j++) {
    const row = logits.subarray((row0 + j) * V, (row0 + j + 1) * V); // (V)
    let token: number;
    let logprob: number;
    let accepted = false;
    if (j === drafts.length || state.params.temperature === 0) {
      ({ tokenId: token, logprob } = sampleSequence(row, state)); // the plain draw (the bonus, or greedy)
      accepted = j < drafts.length && token === drafts[j];
    } else {
      const { p, logp } = targetDistribution(row, state.samplerParams, state.counts);
      const pos = state.numOutputTokens;
      const uAccept = acceptUniform(state.params.seed, state.params.sampleIndex, pos);
      const uResample = uniformFromCounter(state.params.seed, state.params.sampleIndex, pos);
      const v = acceptOrResample(p, q?.[j] ?? null, drafts[j], uAccept, uResample);
      token = v.token;
      logprob = logp[token];
      accepted = v.accepted;
    }
    tokens.push(token);
    logprobs.push(logprob);
    append(token);
    if (!accepted) break;
    numAccepted++;
  }
  return { tokens, logprobs, numAccepted };
}
