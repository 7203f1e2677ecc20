/*
 * LoadedModel (config + weights in the library's internal naming, ../weights/names.ts) ->
 * the TS backend's architecture-neutral decoder record (./decoder-weights.ts).
 *
 *   llama / qwen2 / mixtral: RMSNorm, RoPE (tables as in the reference forward, rope scaling
 *     included), q/k/v bias when qkvBias (qwen2), SwiGLU FFN or an MoE block (mixtral)
 *   gpt2: LayerNorm with bias, learned positions, biases everywhere, GELU-tanh MLP (up -> down)
 *
 * What this is not: a loader or a validator of checkpoints (the loader already checked every
 * shape); missing weights still fail with the name of the weight.
 */
import { ropeTables } from '@llm/tensor';
import type { ModelConfig } from '../config';
import { getWeight, layerPrefix, type ModelWeights } from '../weights';
import type { TsDecoderLayerWeights, TsDecoderWeights, TsFfnWeights, TsLinearWeights, TsNormWeights } from './decoder-weights';

export function tsDecoderFromModel(config: ModelConfig, weights: ModelWeights): TsDecoderWeights {
  const c = config;
  const w = (name: string) => getWeight(weights, name);
  const opt = (name: string) => weights[name]?.data;
  const norm = (name: string): TsNormWeights => ({
    kind: c.normType,
    weight: w(`${name}.weight`),
    bias: c.normType === 'layer' ? w(`${name}.bias`) : undefined,
    eps: c.normEps,
  });
  const lin = (name: string): TsLinearWeights => ({ weight: w(`${name}.weight`), bias: opt(`${name}.bias`) });
  const layers: TsDecoderLayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = layerPrefix(l);
    layers.push({
      attnNorm: norm(`${p}.input_layernorm`),
      q: lin(`${p}.self_attn.q_proj`),
      k: lin(`${p}.self_attn.k_proj`),
      v: lin(`${p}.self_attn.v_proj`),
      o: lin(`${p}.self_attn.o_proj`),
      mlpNorm: norm(`${p}.post_attention_layernorm`),
      ffn: ffnOf(c, p, lin),
    });
  }
  return {
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    maxPositions: c.maxPositions,
    embed: w('model.embed_tokens.weight'),
    positionEmbed: c.positionEmbedding === 'learned' ? w('model.embed_positions.weight') : undefined,
    rope: c.positionEmbedding === 'rope' ? ropeTables(c.headDim, c.maxPositions, c.ropeTheta, c.ropeScaling ?? undefined) : undefined,
    layers,
    finalNorm: norm('model.norm'),
    lmHead: w('lm_head.weight'),
  };
}

function ffnOf(c: ModelConfig, p: string, lin: (name: string) => TsLinearWeights): TsFfnWeights {
  if (c.numExperts > 0) return { kind: 'moe' };
  if (c.mlpGated) {
    if (c.hiddenAct !== 'silu') throw new Error(`TS backend: a gated MLP with hidden_act ${c.hiddenAct} is not supported (expected silu)`);
    return { kind: 'swiglu', intermediate: c.intermediateSize, gate: lin(`${p}.mlp.gate_proj`), up: lin(`${p}.mlp.up_proj`), down: lin(`${p}.mlp.down_proj`) };
  }
  if (c.hiddenAct === 'silu') throw new Error('TS backend: an ungated MLP with hidden_act silu is not supported (expected gelu or gelu_tanh)');
  return {
    kind: 'gelu',
    intermediate: c.intermediateSize,
    approximate: c.hiddenAct === 'gelu_tanh' ? 'tanh' : 'none',
    fc: lin(`${p}.mlp.up_proj`),
    proj: lin(`${p}.mlp.down_proj`),
  };
}
