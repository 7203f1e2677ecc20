/**
 * Router gating: router logits -> per-token top-k expert ids and combine weights.
 *
 * Variants, picked by the model's config:
 *   - softmax, top-k, renormalise          (Mixtral; `normTopkProb: true`, the default)
 *   - softmax, top-k, no renormalisation   (Qwen-MoE `norm_topk_prob: false`)
 *   - sigmoid scores + selection-only bias + group-limited routing (DeepSeek-V3, "noaux_tc")
 * Ties are broken deterministically: the higher score wins, then the lower expert (or group) index.
 *
 * Not here: the router matmul's backward, the noisy top-k of Shazeer et al. (training only),
 * shared experts (Qwen/DeepSeek add them outside the routed block).
 * References: Mixtral (Jiang et al. 2024) and HF MixtralSparseMoeBlock; Qwen2MoeSparseMoeBlock;
 * DeepSeek-V3 technical report sec. 2.1.2 and its MoEGate (group score = sum of the group's top-2).
 */
import { check } from './errors';

export type ScoringFunction = 'softmax' | 'sigmoid';

/** Gating options of one MoE layer; every field has a Mixtral default (k is passed apart). */
export interface GatingConfig {
  /** How logits become scores; default 'softmax'. */
  scoring?: ScoringFunction;
  /** Divide the k selected scores by their sum; default true (Mixtral). */
  normTopkProb?: boolean;
  /** Group-limited routing: experts split into this many equal groups; default 1 (off). */
  numGroups?: number;
  /** Groups kept per token (by group score) before the expert top-k; default numGroups. */
  topkGroups?: number;
  /** (E) bias added to the scores for selection only; the weights use the unbiased scores. */
  selectionBias?: Float32Array;
  /** Multiplies the final weights (DeepSeek-V3 routed_scaling_factor); default 1. */
  routedScalingFactor?: number;
}

export type ResolvedGating = Required<Omit<GatingConfig, 'selectionBias'>> & {
  numExperts: number;
  /** k: experts per token, 1..E. */
  topK: number;
  selectionBias: Float32Array | null;
};

/** The routing decision for T tokens. */
export interface Routing {
  numTokens: number;
  topK: number;
  /** (T, k) chosen experts, best first. */
  expertIds: Int32Array;
  /** (T, k) combine weights, aligned with expertIds. */
  weights: Float32Array;
  /** (T, E) gate probabilities for load statistics: softmax probs, or sigmoid scores / their sum. */
  probs: Float32Array;
}

/** Checks a gating config against E and fills the defaults. */
export function resolveGating(cfg: GatingConfig, numExperts: number, topK: number): ResolvedGating {
  const E = numExperts;
  check(Number.isInteger(E) && E >= 1, 'numExperts', () => `numExperts must be an integer >= 1, got ${E}`);
  const k = topK;
  check(Number.isInteger(k) && k >= 1 && k <= E, 'topK', () => `topK must be an integer in 1..${E}, got ${k}`);
  const scoring = cfg.scoring ?? 'softmax';
  check(scoring === 'softmax' || scoring === 'sigmoid', 'gating.scoring', () =>
    `gating.scoring must be 'softmax' or 'sigmoid', got ${String(scoring)}`);
  const numGroups = cfg.numGroups ?? 1;
  check(Number.isInteger(numGroups) && numGroups >= 1 && E % numGroups === 0, 'gating.numGroups', () =>
    `gating.numGroups must be an integer >= 1 that divides numExperts=${E}, got ${numGroups}`);
  const topkGroups = cfg.topkGroups ?? numGroups;
  check(Number.isInteger(topkGroups) && topkGroups >= 1 && topkGroups <= numGroups, 'gating.topkGroups', () =>
    `gating.topkGroups must be in 1..${numGroups}, got ${topkGroups}`);
  check(topkGroups * (E / numGroups) >= k, 'gating.topkGroups', () =>
    `gating.topkGroups=${topkGroups} groups of ${E / numGroups} experts cannot hold topK=${k} experts`);
  const bias = cfg.selectionBias ?? null;
  check(bias === null || bias.length === E, 'gating.selectionBias', () =>
    `gating.selectionBias must have numExperts=${E} entries, got ${bias?.length}`);
  const scale = cfg.routedScalingFactor ?? 1;
  check(Number.isFinite(scale) && scale > 0, 'gating.routedScalingFactor', () =>
    `gating.routedScalingFactor must be a finite number > 0, got ${scale}`);
  return {
    numExperts: E,
    topK: k,
    scoring,
    normTopkProb: cfg.normTopkProb ?? true,
    numGroups,
    topkGroups,
    selectionBias: bias,
    routedScalingFactor: scale,
  };
}

/** logits = hidden · router^T: (T, C) x (C, E) -> (T, E). The router is stored (E, C) as in HF. */
export function routerLogits(hidden: Float32Array, router: Float32Array, T: number, C: number, E: number): Float32Array {
  const out = new Float32Array(T * E);
  for (let t = 0; t < T; t++) {
    const xo = t * C;
    for (let e = 0; e < E; e++) {
      const wo = e * C;
      let acc = 0;
      for (let c = 0; c < C; c++) acc += hidden[xo + c] * router[wo + c];
      out[t * E + e] = acc;
    }
  }
  return out;
}

/** Gates T tokens from their (T, E) router logits. */
export function gateTokens(logits: Float32Array, T: number, g: ResolvedGating): Routing {
  const E = g.numExperts;
  const k = g.topK;
  const expertIds = new Int32Array(T * k);
  const weights = new Float32Array(T * k);
  const probs = new Float32Array(T * E);
  const scores = new Float64Array(E); // unbiased scores s
  const sel = new Float64Array(E); // selection scores s + bias, -Inf outside the kept groups
  const picked = new Uint8Array(E);
  for (let t = 0; t < T; t++) {
    scoreToken(logits, t * E, E, g.scoring, scores);
    writeProbs(scores, E, g.scoring, probs, t * E);
    for (let e = 0; e < E; e++) sel[e] = scores[e] + (g.selectionBias ? g.selectionBias[e] : 0);
    if (g.topkGroups < g.numGroups) maskGroups(sel, E, g.numGroups, g.topkGroups);
    picked.fill(0);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = argmaxUnpicked(sel, picked, E);
      picked[e] = 1;
      expertIds[t * k + j] = e;
      sum += scores[e];
    }
    // w_j = s_{e_j} (/ sum_j s_{e_j} if normTopkProb) * routedScalingFactor
    const norm = g.normTopkProb && sum > 0 ? g.routedScalingFactor / sum : g.routedScalingFactor;
    for (let j = 0; j < k; j++) weights[t * k + j] = scores[expertIds[t * k + j]] * norm;
  }
  return { numTokens: T, topK: k, expertIds, weights, probs };
}

/** softmax: s_e = exp(z_e - max z) / sum exp(z - max z); sigmoid: s_e = 1 / (1 + exp(-z_e)). */
function scoreToken(logits: Float32Array, off: number, E: number, scoring: ScoringFunction, out: Float64Array): void {
  if (scoring === 'sigmoid') {
    for (let e = 0; e < E; e++) out[e] = 1 / (1 + Math.exp(-logits[off + e]));
    return;
  }
  let max = -Infinity;
  for (let e = 0; e < E; e++) if (logits[off + e] > max) max = logits[off + e];
  let sum = 0;
  for (let e = 0; e < E; e++) {
    out[e] = Math.exp(logits[off + e] - max);
    sum += out[e];
  }
  for (let e = 0; e < E; e++) out[e] /= sum;
}

/** P for the aux loss: softmax probs as is; sigmoid scores normalised to sum 1 (DeepSeek-V3 eq. 19). */
function writeProbs(scores: Float64Array, E: number, scoring: ScoringFunction, probs: Float32Array, off: number): void {
  let sum = 1;
  if (scoring === 'sigmoid') {
    sum = 0;
    for (let e = 0; e < E; e++) sum += scores[e];
  }
  for (let e = 0; e < E; e++) probs[off + e] = scores[e] / sum;
}

/** Index of the largest unpicked entry; strict `>` keeps the lowest index among ties. */
function argmaxUnpicked(v: Float64Array, picked: Uint8Array, n: number): number {
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    if (picked[i]) continue;
    if (best < 0 || v[i] > bestV) {
      best = i;
      bestV = v[i];
    }
  }
  return best;
}

/**
 * Group-limited routing: group score = sum of the group's top min(2, group size) selection
 * scores; keep the best `keep` groups (ties -> lower group index); set the rest to -Inf.
 */
function maskGroups(sel: Float64Array, E: number, numGroups: number, keep: number): void {
  const size = E / numGroups;
  const groupScore = new Float64Array(numGroups);
  for (let g = 0; g < numGroups; g++) {
    let a = -Infinity; // best in group
    let b = -Infinity; // second best
    for (let i = g * size; i < (g + 1) * size; i++) {
      if (sel[i] > a) {
        b = a;
        a = sel[i];
      } else if (sel[i] > b) b = sel[i];
    }
    groupScore[g] = size >= 2 ? a + b : a;
  }
  const kept = new Uint8Array(numGroups);
  for (let j = 0; j < keep; j++) kept[argmaxUnpicked(groupScore, kept, numGroups)] = 1;
  for (let g = 0; g < numGroups; g++) {
    if (kept[g]) continue;
    for (let i = g * size; i < (g + 1) * size; i++) sel[i] = -Infinity;
  }
}
