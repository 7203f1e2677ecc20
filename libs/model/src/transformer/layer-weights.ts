/**
 * Resolves a model's internal-named weights (../weights/names) into per-layer records the forward
 * loop uses, checking every shape once at construction so a bad checkpoint fails before any math.
 */
import type { ModelConfig } from '../config';
import { ModelWeights, getWeight, layerPrefix } from '../weights';
import type { LinearWeights } from './linear';

export interface NormWeights {
  weight: Float32Array; // (C)
  bias?: Float32Array; // (C), LayerNorm only
}

export interface DecoderLayer {
  attnNorm: NormWeights;
  q: LinearWeights; // (NH*HS, C)
  k: LinearWeights; // (NKV*HS, C)
  v: LinearWeights; // (NKV*HS, C)
  o: LinearWeights; // (C, NH*HS)
  mlpNorm: NormWeights;
  /** dense MLP; absent for MoE layers */
  gate?: LinearWeights; // (I, C), gated MLPs only
  up?: LinearWeights; // (I, C)
  down?: LinearWeights; // (C, I)
}

export interface DecoderWeights {
  embed: Float32Array; // (V, C)
  positions?: Float32Array; // (maxPositions, C), learned positions (gpt2)
  layers: DecoderLayer[];
  finalNorm: NormWeights;
  lmHead: LinearWeights; // (V, C)
}

function linear(w: ModelWeights, name: string, out: number, inp: number, bias: boolean): LinearWeights {
  return {
    weight: getWeight(w, `${name}.weight`, [out, inp]),
    bias: bias ? getWeight(w, `${name}.bias`, [out]) : undefined,
    out,
    in: inp,
  };
}

function norm(c: ModelConfig, w: ModelWeights, name: string): NormWeights {
  return {
    weight: getWeight(w, `${name}.weight`, [c.hiddenSize]),
    bias: c.normType === 'layer' ? getWeight(w, `${name}.bias`, [c.hiddenSize]) : undefined,
  };
}

export function resolveDecoder(c: ModelConfig, w: ModelWeights): DecoderWeights {
  const C = c.hiddenSize, I = c.intermediateSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  const layers: DecoderLayer[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = layerPrefix(l);
    const layer: DecoderLayer = {
      attnNorm: norm(c, w, `${p}.input_layernorm`),
      q: linear(w, `${p}.self_attn.q_proj`, q, C, c.qkvBias),
      k: linear(w, `${p}.self_attn.k_proj`, kv, C, c.qkvBias),
      v: linear(w, `${p}.self_attn.v_proj`, kv, C, c.qkvBias),
      o: linear(w, `${p}.self_attn.o_proj`, C, q, c.attnOutBias),
      mlpNorm: norm(c, w, `${p}.post_attention_layernorm`),
    };
    if (c.numExperts === 0) {
      if (c.mlpGated) layer.gate = linear(w, `${p}.mlp.gate_proj`, I, C, c.mlpBias);
      layer.up = linear(w, `${p}.mlp.up_proj`, I, C, c.mlpBias);
      layer.down = linear(w, `${p}.mlp.down_proj`, C, I, c.mlpBias);
    }
    layers.push(layer);
  }
  return {
    embed: getWeight(w, 'model.embed_tokens.weight', [c.vocabSize, C]),
    positions: c.positionEmbedding === 'learned' ? getWeight(w, 'model.embed_positions.weight', [c.maxPositions, C]) : undefined,
    layers,
    finalNorm: norm(c, w, 'model.norm'),
    lmHead: linear(w, 'lm_head', c.vocabSize, C, false),
  };
}
