/**
 * Reads the MoE shape and gating variant out of a Hugging Face `config.json` object.
 *
 * Not a model loader: no file IO, no weights (the DeepSeek-V3 selection bias is a weight,
 * `e_score_correction_bias`, and is passed separately). Keys follow the HF config classes of
 * MixtralConfig (num_local_experts), Qwen2MoeConfig / Qwen3MoeConfig (num_experts,
 * norm_topk_prob default false) and DeepseekV3Config (n_routed_experts, scoring_func, n_group,
 * topk_group, routed_scaling_factor, norm_topk_prob).
 */
import { check } from './errors';
import type { GatingConfig } from './gating';

export interface MoeShape {
  /** C */
  hiddenSize: number;
  /** I: the expert FFN's inner width. */
  intermediateSize: number;
  /** E */
  numExperts: number;
  /** k */
  topK: number;
  gating: GatingConfig;
  /** alpha of the aux load-balancing loss (router_aux_loss_coef; default 0.01). */
  auxLossCoef: number;
}

function int(config: Record<string, unknown>, keys: string[]): number | undefined {
  for (const key of keys) {
    const v = config[key];
    if (v === undefined || v === null) continue;
    check(typeof v === 'number' && Number.isInteger(v) && v > 0, `config.${key}`, () =>
      `config.json field ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  }
  return undefined;
}

/** Gating and sizes from an HF config; throws MoeInputError naming the missing key. */
export function moeShapeFromHfConfig(config: Record<string, unknown>): MoeShape {
  const numExperts = int(config, ['num_local_experts', 'num_experts', 'n_routed_experts']);
  check(numExperts !== undefined, 'config.num_local_experts', () =>
    'config.json has no num_local_experts / num_experts / n_routed_experts (expected a MoE model config)');
  const topK = int(config, ['num_experts_per_tok']);
  check(topK !== undefined, 'config.num_experts_per_tok', () => 'config.json has no num_experts_per_tok');
  const hiddenSize = int(config, ['hidden_size']);
  check(hiddenSize !== undefined, 'config.hidden_size', () => 'config.json has no hidden_size');
  const intermediateSize = int(config, ['moe_intermediate_size', 'intermediate_size']);
  check(intermediateSize !== undefined, 'config.intermediate_size', () =>
    'config.json has no moe_intermediate_size / intermediate_size');
  const modelType = String(config.model_type ?? '');
  const explicitNorm = config.norm_topk_prob;
  // Mixtral always renormalises; the Qwen MoE configs default to false when the key is absent.
  const normTopkProb =
    typeof explicitNorm === 'boolean' ? explicitNorm : !(modelType === 'qwen2_moe' || modelType === 'qwen3_moe');
  const scoringFunc = config.scoring_func ?? 'softmax';
  check(scoringFunc === 'softmax' || scoringFunc === 'sigmoid', 'config.scoring_func', () =>
    `config.json scoring_func must be "softmax" or "sigmoid", got ${JSON.stringify(scoringFunc)}`);
  const scale = config.routed_scaling_factor ?? 1;
  check(typeof scale === 'number', 'config.routed_scaling_factor', () =>
    `config.json routed_scaling_factor must be a number, got ${JSON.stringify(scale)}`);
  const gating: GatingConfig = {
    scoring: scoringFunc,
    normTopkProb,
    numGroups: int(config, ['n_group']) ?? 1,
    topkGroups: int(config, ['topk_group']),
    routedScalingFactor: scale,
  };
  const auxLossCoef = config.router_aux_loss_coef ?? config.aux_loss_alpha ?? 0.01;
  check(typeof auxLossCoef === 'number' && auxLossCoef >= 0, 'config.router_aux_loss_coef', () =>
    `config.json router_aux_loss_coef must be a number >= 0, got ${JSON.stringify(auxLossCoef)}`);
  return { hiddenSize, intermediateSize, numExperts, topK, gating, auxLossCoef };
}
