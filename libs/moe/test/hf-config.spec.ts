import { moeShapeFromHfConfig } from '../src';

describe('moeShapeFromHfConfig', () => {
  it('Mixtral: softmax, always renormalised', () => {
    const s = moeShapeFromHfConfig({
      model_type: 'mixtral', hidden_size: 64, intermediate_size: 128, num_local_experts: 8, num_experts_per_tok: 2, router_aux_loss_coef: 0.02,
    });
    expect(s).toEqual({
      hiddenSize: 64,
      intermediateSize: 128,
      numExperts: 8,
      topK: 2,
      gating: { scoring: 'softmax', normTopkProb: true, numGroups: 1, topkGroups: undefined, routedScalingFactor: 1 },
      auxLossCoef: 0.02,
    });
  });

  it('Qwen2-MoE: norm_topk_prob defaults to false, moe_intermediate_size wins', () => {
    const s = moeShapeFromHfConfig({ model_type: 'qwen2_moe', hidden_size: 64, intermediate_size: 512, moe_intermediate_size: 32, num_experts: 60, num_experts_per_tok: 4 });
    expect(s.gating.normTopkProb).toBe(false);
    expect(s.intermediateSize).toBe(32);
    expect(s.numExperts).toBe(60);
    expect(s.auxLossCoef).toBe(0.01);
  });

  it('DeepSeek-V3: sigmoid, groups, scaling', () => {
    const s = moeShapeFromHfConfig({
      model_type: 'deepseek_v3', hidden_size: 64, moe_intermediate_size: 16, n_routed_experts: 16, num_experts_per_tok: 4,
      scoring_func: 'sigmoid', n_group: 4, topk_group: 2, norm_topk_prob: true, routed_scaling_factor: 2.5,
    });
    expect(s.gating).toEqual({ scoring: 'sigmoid', normTopkProb: true, numGroups: 4, topkGroups: 2, routedScalingFactor: 2.5 });
  });

  it('names the missing or bad key', () => {
    expect(() => moeShapeFromHfConfig({ hidden_size: 8 })).toThrow(/no num_local_experts/);
    expect(() => moeShapeFromHfConfig({ num_local_experts: 8, num_experts_per_tok: 0, hidden_size: 8, intermediate_size: 8 })).toThrow(
      /num_experts_per_tok must be a positive integer, got 0/,
    );
    expect(() =>
      moeShapeFromHfConfig({ num_local_experts: 8, num_experts_per_tok: 2, hidden_size: 8, intermediate_size: 8, scoring_func: 'relu' }),
    ).toThrow(/scoring_func must be "softmax" or "sigmoid", got "relu"/);
  });
});
