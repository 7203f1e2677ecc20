/*
 * The target distribution p (V) that one non-speculative draw would sample from, given a logits
 * row and the sequence's sampling parameters and token counts: penalties, bias and temperature
 * (drawLogprobs), then top-k / top-p / min-p truncation (truncate), renormalised over the kept
 * tokens. Verification compares draft tokens against exactly this p.
 *
 * What this is not: the greedy case (temperature 0 is an argmax; verify.ts compares ids there)
 * or a second sampler: it calls the library's own sampling steps.
 */
import { drawLogprobs, truncate, type SamplingParams, type SamplingState } from '../sampling';

export interface TargetDist {
  /** (V) probabilities, summing to 1 over the kept tokens, 0 elsewhere. */
  p: Float64Array;
  /** (V) log-softmax before truncation: the logprob a draw reports. */
  logp: Float64Array;
}

export function targetDistribution(logits: ArrayLike<number>, params: SamplingParams, counts: SamplingState): TargetDist {
  const { logp } = drawLogprobs(logits, params, counts);
  const { ids, probs } = truncate(logp, params);
  const z = probs.reduce((a, b) => a + b, 0);
  const p = new Float64Array(logp.length);
  ids.forEach((id, i) => (p[id] = probs[i] / z));
  return { p, logp };
}
