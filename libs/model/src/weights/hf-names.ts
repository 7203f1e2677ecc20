/**
 * Hugging Face checkpoint names <-> the internal naming of ./names.
 * Llama, Qwen2 and Mixtral checkpoints already use the internal names (identity). GPT-2
 * (GPT2LMHeadModel, with or without the `transformer.` prefix) uses Conv1D modules whose weights
 * are stored [in_features, out_features] and a fused c_attn:
 *   h.{l}.attn.c_attn  (C, 3C) -> transpose -> rows [q; k; v] -> q_proj, k_proj, v_proj   (C, C) each
 *   h.{l}.attn.c_proj  (C, C)  -> transpose -> o_proj
 *   h.{l}.mlp.c_fc     (C, I)  -> transpose -> up_proj    (I, C)
 *   h.{l}.mlp.c_proj   (I, C)  -> transpose -> down_proj  (C, I)
 *   wte, wpe, ln_1, ln_2, ln_f -> embed_tokens, embed_positions, input_layernorm, post_attention_layernorm, norm
 * Tied embeddings: lm_head.weight is the embed_tokens array (HF ties even if a file stores lm_head).
 */
import type { ModelConfig } from '../config';
import { ModelWeights, Weight, expectedWeights, layerPrefix } from './names';

/** Where a tensor came from, for error messages ("model.safetensors", a shard name). */
export type Origin = (hfName: string) => string;

function shapeEq(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function take(src: Record<string, Weight>, name: string, shape: number[], origin: Origin, note = '', used?: Set<string>): Weight {
  const t = src[name];
  used?.add(name);
  if (!t) throw new Error(`${origin(name)}: tensor "${name}" is missing (expected shape [${shape.join(', ')}]${note})`);
  if (!shapeEq(t.shape, shape)) {
    throw new Error(`${origin(name)}: tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]${note}`);
  }
  return t;
}

/** (R, K) row-major -> (K, R) */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Checkpoint tensors (HF names) -> internal weights, validating every shape; `used` collects the HF names read. */
export function hfToInternal(c: ModelConfig, src: Record<string, Weight>, origin: Origin, used?: Set<string>): ModelWeights {
  if (c.arch === 'gpt2') return gpt2ToInternal(c, src, origin, used);
  const out: ModelWeights = {};
  for (const [name, shape] of expectedWeights(c)) {
    if (name === 'lm_head.weight' && c.tieWordEmbeddings) continue;
    out[name] = take(src, name, shape, origin, '', used);
  }
  if (c.tieWordEmbeddings) out['lm_head.weight'] = out['model.embed_tokens.weight'];
  return out;
}

/** Internal weights -> checkpoint tensors with HF names (tied lm_head omitted, as HF saves it). */
export function internalToHf(c: ModelConfig, w: ModelWeights): Record<string, Weight> {
  const origin: Origin = () => 'weights';
  if (c.arch === 'gpt2') return internalToGpt2(c, w);
  const out: Record<string, Weight> = {};
  for (const [name, shape] of expectedWeights(c)) {
    if (name === 'lm_head.weight' && c.tieWordEmbeddings) continue;
    out[name] = take(w, name, shape, origin);
  }
  return out;
}

function gpt2Prefix(src: Record<string, Weight>): string {
  return Object.keys(src).some((k) => k.startsWith('transformer.')) ? 'transformer.' : '';
}

function gpt2ToInternal(c: ModelConfig, src: Record<string, Weight>, origin: Origin, used?: Set<string>): ModelWeights {
  const p = gpt2Prefix(src);
  const C = c.hiddenSize, I = c.intermediateSize;
  const out: ModelWeights = {};
  const copy = (from: string, to: string, shape: number[]): void => {
    out[to] = take(src, p + from, shape, origin, '', used);
  };
  const conv = (from: string, to: string, inF: number, outF: number): void => {
    const note = ' (Conv1D weights are stored [in, out])';
    const wt = take(src, `${p}${from}.weight`, [inF, outF], origin, note, used);
    out[`${to}.weight`] = { shape: [outF, inF], data: transpose2d(wt.data, inF, outF) };
    out[`${to}.bias`] = take(src, `${p}${from}.bias`, [outF], origin, '', used);
  };
  copy('wte.weight', 'model.embed_tokens.weight', [c.vocabSize, C]);
  copy('wpe.weight', 'model.embed_positions.weight', [c.maxPositions, C]);
  for (let l = 0; l < c.numLayers; l++) {
    const h = `h.${l}`, m = layerPrefix(l);
    for (const [a, b] of [['ln_1', 'input_layernorm'], ['ln_2', 'post_attention_layernorm']]) {
      copy(`${h}.${a}.weight`, `${m}.${b}.weight`, [C]);
      copy(`${h}.${a}.bias`, `${m}.${b}.bias`, [C]);
    }
    conv(`${h}.attn.c_attn`, `${m}.self_attn.qkv`, C, 3 * C);
    splitQkv(out, m, C);
    conv(`${h}.attn.c_proj`, `${m}.self_attn.o_proj`, C, C);
    conv(`${h}.mlp.c_fc`, `${m}.mlp.up_proj`, C, I);
    conv(`${h}.mlp.c_proj`, `${m}.mlp.down_proj`, I, C);
  }
  copy('ln_f.weight', 'model.norm.weight', [C]);
  copy('ln_f.bias', 'model.norm.bias', [C]);
  out['lm_head.weight'] = c.tieWordEmbeddings ? out['model.embed_tokens.weight'] : take(src, 'lm_head.weight', [c.vocabSize, C], origin, '', used);
  return out;
}

/** Fused (3C, C) qkv rows [q; k; v] -> three (C, C) projections (and biases). */
function splitQkv(out: ModelWeights, m: string, C: number): void {
  const w = out[`${m}.self_attn.qkv.weight`].data, b = out[`${m}.self_attn.qkv.bias`].data;
  ['q_proj', 'k_proj', 'v_proj'].forEach((name, i) => {
    out[`${m}.self_attn.${name}.weight`] = { shape: [C, C], data: w.slice(i * C * C, (i + 1) * C * C) };
    out[`${m}.self_attn.${name}.bias`] = { shape: [C], data: b.slice(i * C, (i + 1) * C) };
  });
  delete out[`${m}.self_attn.qkv.weight`];
  delete out[`${m}.self_attn.qkv.bias`];
}

function internalToGpt2(c: ModelConfig, w: ModelWeights): Record<string, Weight> {
  const origin: Origin = () => 'weights';
  const C = c.hiddenSize, I = c.intermediateSize, p = 'transformer.';
  const out: Record<string, Weight> = {};
  const get = (name: string, shape: number[]): Weight => take(w, name, shape, origin);
  const conv = (from: string, to: string, inF: number, outF: number): void => {
    out[`${p}${to}.weight`] = { shape: [inF, outF], data: transpose2d(get(`${from}.weight`, [outF, inF]).data, outF, inF) };
    out[`${p}${to}.bias`] = get(`${from}.bias`, [outF]);
  };
  out[`${p}wte.weight`] = get('model.embed_tokens.weight', [c.vocabSize, C]);
  out[`${p}wpe.weight`] = get('model.embed_positions.weight', [c.maxPositions, C]);
  for (let l = 0; l < c.numLayers; l++) {
    const h = `h.${l}`, m = layerPrefix(l);
    for (const [a, b] of [['ln_1', 'input_layernorm'], ['ln_2', 'post_attention_layernorm']]) {
      out[`${p}${h}.${a}.weight`] = get(`${m}.${b}.weight`, [C]);
      out[`${p}${h}.${a}.bias`] = get(`${m}.${b}.bias`, [C]);
    }
    const qkvW = new Float32Array(3 * C * C), qkvB = new Float32Array(3 * C);
    ['q_proj', 'k_proj', 'v_proj'].forEach((name, i) => {
      qkvW.set(get(`${m}.self_attn.${name}.weight`, [C, C]).data, i * C * C);
      qkvB.set(get(`${m}.self_attn.${name}.bias`, [C]).data, i * C);
    });
    out[`${p}${h}.attn.c_attn.weight`] = { shape: [C, 3 * C], data: transpose2d(qkvW, 3 * C, C) };
    out[`${p}${h}.attn.c_attn.bias`] = { shape: [3 * C], data: qkvB };
    conv(`${m}.self_attn.o_proj`, `${h}.attn.c_proj`, C, C);
    conv(`${m}.mlp.up_proj`, `${h}.mlp.c_fc`, C, I);
    conv(`${m}.mlp.down_proj`, `${h}.mlp.c_proj`, I, C);
  }
  out[`${p}ln_f.weight`] = get('model.norm.weight', [C]);
  out[`${p}ln_f.bias`] = get('model.norm.bias', [C]);
  if (!c.tieWordEmbeddings) out['lm_head.weight'] = get('lm_head.weight', [c.vocabSize, C]);
  return out;
}
