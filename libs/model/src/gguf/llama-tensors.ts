/*
 * The llama family's tensors between GGUF names and the internal (Hugging Face) names:
 *
 *   token_embd, output_norm, output                  model.embed_tokens, model.norm, lm_head
 *   blk.N.attn_norm / ffn_norm                        input_layernorm / post_attention_layernorm
 *   blk.N.attn_q, attn_k, attn_v, attn_output (.bias) self_attn.q_proj, k_proj, v_proj, o_proj
 *   blk.N.ffn_gate, ffn_up, ffn_down                  mlp.gate_proj, up_proj, down_proj
 *   blk.N.ffn_gate_inp                                block_sparse_moe.gate (the router)
 *   blk.N.ffn_gate_exps, ffn_down_exps, ffn_up_exps   experts.{e}.w1, w2, w3 stacked: GGUF dims
 *                                                     [in, out, E] (older files: ffn_gate.{e} ...)
 *
 * RoPE row order: llama.cpp's llama architecture rotates adjacent pairs (2i, 2i+1) of a head,
 * Hugging Face rotates halves (i, i + HS/2), so its converter permutes the rows of attn_q and
 * attn_k (and their biases) within each head, per the spec's `permute`:
 *   w.reshape(n_head, 2, HS/2, in).swapaxes(1, 2):   HF row h*HS + s*HS/2 + i  ->  GGUF row h*HS + 2i + s
 * (n_head = head_count for q, head_count_kv for k). Reading applies the inverse, writing this,
 * so q.k products, and so the model's function, are the same. qwen2 rotates halves in both
 * (no permutation).
 */
import type { ModelConfig } from '../config';
import { selectRows } from '../quant/quantized-matrix';
import { quantizedWeight } from '../quant/quantized-weight';
import { expertPrefix, layerPrefix, type Weight } from '../weights';

/** GGUF name -> internal name for the per-layer tensors (the rest is in GLOBAL). */
const LAYER: Array<[string, string]> = [
  ['attn_norm.weight', 'input_layernorm.weight'],
  ['ffn_norm.weight', 'post_attention_layernorm.weight'],
  ['attn_q.weight', 'self_attn.q_proj.weight'], ['attn_q.bias', 'self_attn.q_proj.bias'],
  ['attn_k.weight', 'self_attn.k_proj.weight'], ['attn_k.bias', 'self_attn.k_proj.bias'],
  ['attn_v.weight', 'self_attn.v_proj.weight'], ['attn_v.bias', 'self_attn.v_proj.bias'],
  ['attn_output.weight', 'self_attn.o_proj.weight'], ['attn_output.bias', 'self_attn.o_proj.bias'],
  ['ffn_gate.weight', 'mlp.gate_proj.weight'], ['ffn_gate.bias', 'mlp.gate_proj.bias'],
  ['ffn_up.weight', 'mlp.up_proj.weight'], ['ffn_up.bias', 'mlp.up_proj.bias'],
  ['ffn_down.weight', 'mlp.down_proj.weight'], ['ffn_down.bias', 'mlp.down_proj.bias'],
  ['ffn_gate_inp.weight', 'block_sparse_moe.gate.weight'],
];
const GLOBAL: Array<[string, string]> = [
  ['token_embd.weight', 'model.embed_tokens.weight'],
  ['output_norm.weight', 'model.norm.weight'],
  ['output.weight', 'lm_head.weight'],
];
/** Stacked expert tensors and the expert matrix each slice is. */
export const EXPERTS: Array<[string, 'w1' | 'w2' | 'w3', string]> = [
  ['ffn_gate_exps.weight', 'w1', 'ffn_gate'],
  ['ffn_down_exps.weight', 'w2', 'ffn_down'],
  ['ffn_up_exps.weight', 'w3', 'ffn_up'],
];

/** Every (GGUF name, internal name) pair of a config's non-expert tensors. */
export function tensorNames(c: ModelConfig): Array<[string, string]> {
  const out: Array<[string, string]> = [...GLOBAL];
  for (let l = 0; l < c.numLayers; l++) for (const [g, i] of LAYER) out.push([`blk.${l}.${g}`, `${layerPrefix(l)}.${i}`]);
  return out;
}

export const expertName = (l: number, e: number, w: 'w1' | 'w2' | 'w3'): string => `${expertPrefix(l, e)}.${w}.weight`;

/** GGUF row of HF row r, for heads of HS rows (see the file comment). */
export function ggufRowOf(r: number, HS: number): number {
  const h = Math.floor(r / HS), j = r % HS, half = HS / 2;
  const s = j < half ? 0 : 1, i = j % half;
  return h * HS + 2 * i + s;
}

/** HF row of GGUF row g. */
export function hfRowOf(g: number, HS: number): number {
  const h = Math.floor(g / HS), j = g % HS;
  return h * HS + (j % 2) * (HS / 2) + (j >> 1);
}

/** Rows permuted: out row i = w row from(i) (a weight (rows, in) or a bias (rows)). */
export function permuteRows(w: Weight, from: (i: number) => number): Weight {
  const rows = w.shape[0];
  if (w.quant) {
    const q = quantizedWeight(selectRows(w.quant, rows, from));
    q.shape = [...w.shape];
    return q;
  }
  const cols = w.data.length / rows;
  const data = new Float32Array(w.data.length);
  for (let i = 0; i < rows; i++) data.set(w.data.subarray(from(i) * cols, (from(i) + 1) * cols), i * cols);
  return { shape: [...w.shape], data };
}

/** Whether a tensor's rows are in llama.cpp's pair order in this architecture's GGUF files. */
export function isRopePermuted(ggufArch: string, internalName: string): boolean {
  return ggufArch === 'llama' && /self_attn\.(q|k)_proj\.(weight|bias)$/.test(internalName);
}
