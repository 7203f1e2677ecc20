/*
 * Which tensors of a model are quantized, and doing it: every linear layer's weight (q, k, v,
 * o; gate, up, down; each expert's w1, w2, w3) in the chosen format, and the LM head in Q8_0 by
 * default (llama.cpp likewise keeps its output matrix at 6 or 8 bits under 4-bit formats: the
 * head is the layer most sensitive to rounding). Norms, biases, the MoE router and the token
 * embedding stay f32 (a decode step reads a few embedding rows, not the matrix); a tied head
 * quantizes the shared matrix, and the embedding lookup then reads its dequantized rows.
 * Activations stay f32 throughout.
 *
 * Supported: the llama family (llama, mistral, qwen2, mixtral), whose weights are nn.Linear
 * (out, in) matrices quantized along `in`. Not: gpt2 (Conv1D checkpoints stored (in, out)).
 */
import type { ModelConfig } from '../config';
import { expectedWeights, type ModelWeights, type Weight } from '../weights/names';
import { BLOCK_LAYOUTS, QK, type QuantFormat } from './formats';
import { quantizeMatrix } from './quantized-matrix';
import { quantizedWeight } from './quantized-weight';

export interface QuantizeOptions {
  format: QuantFormat;
  /** The LM head's format, or 'f32' to keep it (default q8_0). */
  head?: QuantFormat | 'f32';
  /** Called after each tensor: how many are done of how many. */
  onProgress?: (done: number, total: number, name: string) => void;
  /**
   * Keep tensors that are already block-quantized as they are and quantize only the rest (a GGUF
   * file that mixes Q4_0 / Q8_0 blocks with types read as f32, such as llama.cpp's Q4_K_M). Off:
   * any quantized tensor is an error (quantizing twice compounds the error).
   */
  keepQuantized?: boolean;
}

const QUANTIZABLE_ARCHS = ['llama', 'qwen2', 'mixtral'];

/** A one-line error when the architecture cannot be quantized; null when it can. */
export function unsupportedForQuantization(c: ModelConfig): string | null {
  if (QUANTIZABLE_ARCHS.includes(c.arch)) return null;
  return `architecture ${c.architecture} (${c.arch}) cannot be quantized (expected a llama-family model: llama, mistral, qwen2 or mixtral)`;
}

/** Internal names of the linear-layer weights the format applies to (the head is separate). */
export function linearWeightNames(c: ModelConfig): string[] {
  const names: string[] = [];
  for (const name of expectedWeights(c).keys()) {
    if (!name.startsWith('model.layers.') || !name.endsWith('.weight')) continue;
    if (/(_layernorm|block_sparse_moe\.gate)\.weight$/.test(name)) continue;
    names.push(name);
  }
  return names;
}

/** The format each quantized tensor gets under `opts` (name -> format). */
export function quantizationPlan(c: ModelConfig, opts: QuantizeOptions): Map<string, QuantFormat> {
  const why = unsupportedForQuantization(c);
  if (why) throw new Error(why);
  const plan = new Map<string, QuantFormat>();
  for (const name of linearWeightNames(c)) plan.set(name, opts.format);
  const head = opts.head ?? 'q8_0';
  if (head !== 'f32') plan.set('lm_head.weight', head);
  for (const name of plan.keys()) {
    const cols = (expectedWeights(c).get(name) as number[])[1];
    if (cols % QK !== 0) throw new Error(`${name} has ${cols} input features, not a multiple of the ${QK}-weight ${BLOCK_LAYOUTS[plan.get(name)!].name} block`);
  }
  return plan;
}

/**
 * The model's weights with the planned tensors quantized (the rest shared, not copied). A tied
 * head quantizes the shared matrix once and both names point at the result.
 */
export function quantizeModelWeights(c: ModelConfig, weights: ModelWeights, opts: QuantizeOptions): ModelWeights {
  const plan = quantizationPlan(c, opts);
  for (const [name, w] of Object.entries(weights)) {
    if (w.quant && !opts.keepQuantized) throw new Error(`${name} is already ${BLOCK_LAYOUTS[w.quant.format].name}; quantize the original f32/f16/bf16 model instead`);
  }
  const out: ModelWeights = { ...weights };
  let done = 0;
  for (const [name, format] of plan) {
    const src = weights[name];
    if (!src) throw new Error(`weight "${name}" is missing`);
    if (src.quant) {
      opts.onProgress?.(++done, plan.size, name);
      continue;
    }
    const q = quantizedWeight(quantizeMatrix(src.data, src.shape[0], src.shape[1], format));
    out[name] = q;
    if (name === 'lm_head.weight' && c.tieWordEmbeddings) out['model.embed_tokens.weight'] = q;
    opts.onProgress?.(++done, plan.size, name);
  }
  return out;
}

/** The format of every quantized tensor in `weights` (by name). */
export function quantizedFormats(weights: ModelWeights): Map<string, QuantFormat> {
  const m = new Map<string, QuantFormat>();
  for (const [name, w] of Object.entries(weights) as Array<[string, Weight]>) if (w.quant) m.set(name, w.quant.format);
  return m;
}

