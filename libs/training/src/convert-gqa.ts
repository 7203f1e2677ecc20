/*
 * Multi-head to grouped-query attention conversion, the starting point of GQA uptraining
 * (Ainslie et al. 2023, "GQA: Training Generalized Multi-Query Transformer Models from
 * Multi-Head Checkpoints", section 2.1): the key and value projection heads of each group
 * are mean-pooled into one head.
 *   new k_proj head j = (1/G) Σ_{i<G} old k_proj head (j·G + i),  G = NKV_old / NKV_new
 * (rows of k_proj/v_proj weights (NKV·HS, C), and their biases when present). With
 * NKV_new = NKV_old nothing changes, so logits are identical.
 *
 * Not fine-tuning: run `llm train --init DIR` on the result to recover quality.
 * GPT-2 has no separate key/value heads in its architecture and is refused.
 */
import type { ModelConfig, ModelWeights, Weight } from '@llm/model';

function poolHeads(w: Weight, oldKv: number, newKv: number, HS: number): Weight {
  const G = oldKv / newKv;
  const cols = w.shape.length === 2 ? w.shape[1] : 1;
  const out = new Float32Array(newKv * HS * cols);
  for (let j = 0; j < newKv; j++)
    for (let i = 0; i < G; i++) {
      const src = (j * G + i) * HS * cols;
      const dst = j * HS * cols;
      for (let x = 0; x < HS * cols; x++) out[dst + x] += w.data[src + x] / G;
    }
  return { shape: w.shape.length === 2 ? [newKv * HS, cols] : [newKv * HS], data: out };
}

/** The converted config and weights (other weights are shared, not copied). */
export function convertToGqa(config: ModelConfig, weights: ModelWeights, kvHeads: number): { config: ModelConfig; weights: ModelWeights } {
  if (config.arch === 'gpt2') {
    throw new Error('convert-gqa: GPT2LMHeadModel has no grouped-query attention (its config has no num_key_value_heads); use a llama, qwen2 or mixtral model');
  }
  const old = config.numKvHeads;
  if (!(Number.isInteger(kvHeads) && kvHeads >= 1 && old % kvHeads === 0)) {
    throw new Error(`convert-gqa: --kv-heads ${kvHeads} must be a positive divisor of the model's ${old} key/value heads`);
  }
  const out: ModelWeights = { ...weights };
  for (let l = 0; l < config.numLayers; l++) {
    for (const m of ['k_proj', 'v_proj']) {
      for (const kind of config.qkvBias ? ['weight', 'bias'] : ['weight']) {
        const name = `model.layers.${l}.self_attn.${m}.${kind}`;
        const w = weights[name];
        if (!w) throw new Error(`convert-gqa: weight ${name} is missing`);
        out[name] = poolHeads(w, old, kvHeads, config.headDim);
      }
    }
  }
  const raw = { ...config.raw, num_key_value_heads: kvHeads };
  return { config: { ...config, numKvHeads: kvHeads, raw }, weights: out };
}
