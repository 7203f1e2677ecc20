/**
 * The ONE internal weight naming every consumer of a LoadedModel uses, whatever the
 * architecture. It is Hugging Face's Llama/Mixtral naming, extended with the pieces GPT-2 needs.
 * All linear weights are [out_features, in_features] (nn.Linear layout), f32, row-major:
 *
 *   model.embed_tokens.weight                              (V, C)
 *   model.embed_positions.weight                           (maxPositions, C)      gpt2 only
 *   model.layers.{l}.input_layernorm.weight                (C)      .bias (C) gpt2 only
 *   model.layers.{l}.self_attn.q_proj.weight               (NH*HS, C)   .bias (NH*HS) if qkvBias
 *   model.layers.{l}.self_attn.k_proj.weight               (NKV*HS, C)  .bias (NKV*HS) if qkvBias
 *   model.layers.{l}.self_attn.v_proj.weight               (NKV*HS, C)  .bias (NKV*HS) if qkvBias
 *   model.layers.{l}.self_attn.o_proj.weight               (C, NH*HS)   .bias (C) if attnOutBias
 *   model.layers.{l}.post_attention_layernorm.weight       (C)      .bias (C) gpt2 only
 *   dense MLP:
 *   model.layers.{l}.mlp.gate_proj.weight                  (I, C)   gated (llama family) only
 *   model.layers.{l}.mlp.up_proj.weight                    (I, C)   .bias (I) if mlpBias
 *   model.layers.{l}.mlp.down_proj.weight                  (C, I)   .bias (C) if mlpBias
 *   mixture of experts (mixtral):
 *   model.layers.{l}.block_sparse_moe.gate.weight          (E, C)   router
 *   model.layers.{l}.block_sparse_moe.experts.{e}.w1.weight (I, C)  gate proj
 *   model.layers.{l}.block_sparse_moe.experts.{e}.w3.weight (I, C)  up proj
 *   model.layers.{l}.block_sparse_moe.experts.{e}.w2.weight (C, I)  down proj
 *   model.norm.weight                                      (C)      .bias (C) gpt2 only
 *   lm_head.weight                                         (V, C)   the same array as embed_tokens when tied
 *
 * GPT-2's fused Conv1D c_attn ((C, 3C), stored [in, out]) becomes q/k/v_proj ([out, in]); its
 * c_proj / c_fc / mlp.c_proj become o_proj / up_proj / down_proj, transposed (./hf-names).
 */
import type { ModelConfig } from '../config';
import type { QuantizedMatrix } from '../quant/quantized-matrix';

export interface Weight {
  shape: number[];
  data: Float32Array;
  /**
   * Present when the weight is stored block-quantized (../quant): `data` is then computed from
   * the blocks on first read and kept, so a consumer of f32 values still sees the weight's
   * exact (dequantized) values, and one that runs quantized kernels never pays for them.
   */
  quant?: QuantizedMatrix;
}

/** name -> f32 tensor, in the internal naming above */
export type ModelWeights = Record<string, Weight>;

export const layerPrefix = (l: number): string => `model.layers.${l}`;
export const expertPrefix = (l: number, e: number): string => `model.layers.${l}.block_sparse_moe.experts.${e}`;

/** Every weight the config requires, with its shape, in a stable order. */
export function expectedWeights(c: ModelConfig): Map<string, number[]> {
  const C = c.hiddenSize, I = c.intermediateSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  const m = new Map<string, number[]>();
  const norm = (name: string): void => {
    m.set(`${name}.weight`, [C]);
    if (c.normType === 'layer') m.set(`${name}.bias`, [C]);
  };
  const lin = (name: string, out: number, inp: number, bias: boolean): void => {
    m.set(`${name}.weight`, [out, inp]);
    if (bias) m.set(`${name}.bias`, [out]);
  };
  m.set('model.embed_tokens.weight', [c.vocabSize, C]);
  if (c.positionEmbedding === 'learned') m.set('model.embed_positions.weight', [c.maxPositions, C]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = layerPrefix(l);
    norm(`${p}.input_layernorm`);
    lin(`${p}.self_attn.q_proj`, q, C, c.qkvBias);
    lin(`${p}.self_attn.k_proj`, kv, C, c.qkvBias);
    lin(`${p}.self_attn.v_proj`, kv, C, c.qkvBias);
    lin(`${p}.self_attn.o_proj`, C, q, c.attnOutBias);
    norm(`${p}.post_attention_layernorm`);
    if (c.numExperts > 0) {
      m.set(`${p}.block_sparse_moe.gate.weight`, [c.numExperts, C]);
      for (let e = 0; e < c.numExperts; e++) {
        const x = expertPrefix(l, e);
        m.set(`${x}.w1.weight`, [I, C]);
        m.set(`${x}.w2.weight`, [C, I]);
        m.set(`${x}.w3.weight`, [I, C]);
      }
    } else {
      if (c.mlpGated) lin(`${p}.mlp.gate_proj`, I, C, c.mlpBias);
      lin(`${p}.mlp.up_proj`, I, C, c.mlpBias);
      lin(`${p}.mlp.down_proj`, C, I, c.mlpBias);
    }
  }
  norm('model.norm');
  m.set('lm_head.weight', [c.vocabSize, C]);
  return m;
}

/** The weight `name`, checked against the expected shape; a clear error when absent or mis-shaped. */
export function getWeight(w: ModelWeights, name: string, shape?: number[]): Float32Array {
  const t = w[name];
  if (!t) throw new Error(`weight "${name}" is missing${shape ? ` (expected shape [${shape.join(', ')}])` : ''}`);
  if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    throw new Error(`weight "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t.data;
}

/** Throws on the first expected weight that is missing or mis-shaped. */
export function validateWeights(c: ModelConfig, w: ModelWeights): void {
  for (const [name, shape] of expectedWeights(c)) getWeight(w, name, shape);
}
