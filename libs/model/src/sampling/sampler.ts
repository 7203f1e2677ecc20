/**
 * Choosing the next token from one row of logits (V). The order of operations:
 *   1. logit bias            l[id] += bias
 *   2. repetition penalty    for ids in prompt or output: l > 0 ? l / r : l * r      (CTRL; HF, vLLM)
 *   3. frequency, presence   l[id] -= frequency * count_output(id) + presence * [count_output(id) > 0]   (OpenAI)
 *   4. temperature 0: argmax (lowest id on ties). Otherwise l / T, then, like HF's warpers in
 *      this order: top-k (ties at the k-th value kept), top-p (smallest most-likely set reaching p,
 *      always >= 1 token), min-p (p >= minP * p_max); sample by inverse CDF with u over the kept
 *      tokens in descending probability (ties: lower id first).
 * Logprobs are log-softmax of the logits after steps 1-3 and temperature (temperature 1 when
 * greedy), before top-k/p truncation: the chosen token's and the top N.
 * u comes from the counter-based RNG (./counter-rng) so a recomputed sequence draws the same token.
 */
import { argmax, topK as topKSelect } from '@llm/tensor';
import { SamplingParams, SamplingState } from './params';
import { drawFromHead } from './truncate-head';

export interface LogprobEntry {
  token: number;
  logprob: number;
}

export interface SampleResult {
  token: number;
  /** logprob of the chosen token */
  logprob: number;
  /** the params.logprobs most likely tokens, most likely first */
  topLogprobs: LogprobEntry[];
}

/** Steps 1-3 on a float64 copy of the logits. */
export function applyPenalties(logits: ArrayLike<number>, p: SamplingParams, s: SamplingState): Float64Array {
  const l = Float64Array.from(logits as ArrayLike<number>);
  for (const [id, bias] of p.logitBias ?? []) if (id >= 0 && id < l.length) l[id] += bias;
  const r = p.repetitionPenalty ?? 1;
  if (r !== 1) {
    const seen = new Set<number>([...s.promptCounts.keys(), ...s.outputCounts.keys()]);
    for (const id of seen) if (id >= 0 && id < l.length) l[id] = l[id] > 0 ? l[id] / r : l[id] * r;
  }
  const freq = p.frequencyPenalty ?? 0, pres = p.presencePenalty ?? 0;
  if (freq !== 0 || pres !== 0) {
    for (const [id, n] of s.outputCounts) if (n > 0 && id >= 0 && id < l.length) l[id] -= freq * n + pres;
  }
  return l;
}

/** log-softmax over a row (max-subtracted) */
function logSoftmax(l: Float64Array): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < l.length; i++) if (l[i] > m) m = l[i];
  let sum = 0;
  for (let i = 0; i < l.length; i++) sum += Math.exp(l[i] - m);
  const lse = m + Math.log(sum);
  const out = new Float64Array(l.length);
  for (let i = 0; i < l.length; i++) out[i] = l[i] - lse;
  return out;
}

/** Candidate ids after top-k, top-p and min-p, with their probabilities (descending; sum not normalised). */
export function truncate(logp: Float64Array, p: SamplingParams): { ids: number[]; probs: number[] } {
  const V = logp.length;
  let ids: number[];
  const k = p.topK ?? 0;
  if (k > 0 && k < V) {
    const top = topKSelect(logp, k);
    const kth = top.values[top.values.length - 1];
    ids = [];
    for (let i = 0; i < V; i++) if (logp[i] >= kth) ids.push(i); // ties at the k-th value are kept
  } else {
    ids = Array.from({ length: V }, (_, i) => i);
  }
  ids.sort((a, b) => logp[b] - logp[a] || a - b);
  let probs = ids.map((i) => Math.exp(logp[i]));
  const topP = p.topP ?? 1;
  if (topP < 1) {
    const z = probs.reduce((a, b) => a + b, 0);
    let cum = 0, n = 0;
    while (n < ids.length && (n === 0 || cum < topP)) cum += probs[n++] / z; // keep until the mass reaches p
    ids = ids.slice(0, n);
    probs = probs.slice(0, n);
  }
  const minP = p.minP ?? 0;
  if (minP > 0) {
    const cut = minP * probs[0]; // relative to the most likely token
    const n = Math.max(1, probs.findIndex((q) => q < cut) === -1 ? probs.length : probs.findIndex((q) => q < cut));
    ids = ids.slice(0, n);
    probs = probs.slice(0, n);
  }
  return { ids, probs };
}

/**
 * The distribution a draw uses, before top-k/p truncation: log-softmax of the logits after steps
 * 1-3 and temperature (temperature 1 when greedy). Returns the adjusted logits too.
 */
export function drawLogprobs(logits: ArrayLike<number>, params: SamplingParams, state: SamplingState): { adjusted: Float64Array; logp: Float64Array } {
  const l = applyPenalties(logits, params, state);
  const T = params.temperature;
  if (T > 0) for (let i = 0; i < l.length; i++) l[i] /= T;
  return { adjusted: l, logp: logSoftmax(l) };
}

/** Whether steps 1-3 change nothing (no bias, repetition penalty 1, no frequency or presence penalty). */
function unadjusted(p: SamplingParams): boolean {
  return (p.logitBias === undefined || p.logitBias.size === 0) && (p.repetitionPenalty ?? 1) === 1 && (p.frequencyPenalty ?? 0) === 0 && (p.presencePenalty ?? 0) === 0;
}

/**
 * Greedy without adjustments or top logprobs, the serving hot path: the same argmax and the same
 * log-softmax arithmetic as the general path (float64, max-subtracted, summed in index order), read
 * straight from the row, without its two V-sized float64 copies. Bit-identical results.
 */
function greedyLogprob(logits: Float32Array | Float64Array): SampleResult {
  const token = argmax(logits);
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > m) m = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - m);
  return { token, logprob: logits[token] - (m + Math.log(sum)), topLogprobs: [] };
}

/** Picks a token from logits (V) with u in [0, 1). */
export function sampleToken(logits: Float32Array | Float64Array, params: SamplingParams, state: SamplingState, u: number): SampleResult {
  if (logits.length === 0) throw new Error('sampleToken: logits are empty');
  if (!(u >= 0 && u < 1)) throw new Error(`sampleToken: u=${u} is outside [0, 1)`);
  const T = params.temperature;
  if (T === 0 && !((params.logprobs ?? 0) > 0) && unadjusted(params)) {
    return params.skipLogprob ? { token: argmax(logits), logprob: 0, topLogprobs: [] } : greedyLogprob(logits);
  }
  const { adjusted: l, logp } = drawLogprobs(logits, params, state);
  let token: number;
  if (T === 0) {
    token = argmax(l);
  } else {
    const fromHead = drawFromHead(logp, params, u); // large vocabularies: no full sort (truncate-head.ts)
    if (fromHead !== undefined) return withTop(fromHead, logp, params);
    const { ids, probs } = truncate(logp, params);
    const z = probs.reduce((a, b) => a + b, 0);
    let cum = 0;
    let last = ids.length - 1;
    while (last > 0 && !(probs[last] > 0)) last--; // never fall back onto a masked (-Infinity) token
    token = ids[last];
    for (let i = 0; i < ids.length; i++) {
      cum += probs[i] / z;
      if (u < cum) {
        token = ids[i];
        break;
      }
    }
  }
  return withTop(token, logp, params);
}

/** The result for a chosen token: its logprob and the params.logprobs most likely tokens. */
function withTop(token: number, logp: Float64Array, params: SamplingParams): SampleResult {
  const n = params.logprobs ?? 0;
  const top = n > 0 ? topKSelect(logp, n) : null;
  // Masked tokens (-Infinity) are never listed among the alternatives.
  const topLogprobs = top ? Array.from(top.indices, (id, i) => ({ token: id, logprob: top.values[i] })).filter((e) => e.logprob > -Infinity) : [];
  return { token, logprob: logp[token], topLogprobs };
}

/** top-1 minus top-2 logit: how far a greedy choice is from a tie. */
export function topTwoMargin(logits: ArrayLike<number>): number {
  const t = topKSelect(logits, 2);
  return t.values.length < 2 ? Infinity : t.values[0] - t.values[1];
}
