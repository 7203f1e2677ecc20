/*
 * Block-quantized weights in a Hugging Face model directory. A quantized linear weight (out, in)
 * is stored in model.safetensors as a U8 tensor (out, rowBytes) holding its ggml blocks exactly
 * as a GGUF tensor of that type would (34 bytes per 32 weights for Q8_0, 18 for Q4_0), under its
 * usual name; config.json records the format:
 *
 *   "quantization_config": { "quant_method": "ggml", "format": "q4_0", "block_size": 32, "head_format": "q8_0" }
 *
 * A tensor's format follows from its row length (in / 32 blocks of 34 or 18 bytes), so a reader
 * needs nothing else; the config entry is what users and tools see.
 * Not here: which tensors get quantized (../quant/quantize-model.ts).
 */
import type { ModelConfig } from '../config';
import { BLOCK_LAYOUTS, QK, QUANT_FORMATS, rowBytes, type QuantFormat } from '../quant/formats';
import { quantizedMatrix } from '../quant/quantized-matrix';
import { quantizedWeight } from '../quant/quantized-weight';
import { expectedWeights, type ModelWeights, type Weight } from '../weights';
import type { SafeTensor, WritableTensor } from './safetensors';

export const QUANT_METHOD = 'ggml';

/** config.json's quantization_config of a quantized directory. */
export interface QuantizationConfig {
  quant_method: typeof QUANT_METHOD;
  /** The linear layers' format. */
  format: QuantFormat;
  block_size: number;
  /** The LM head's format ('f32' when kept). */
  head_format: QuantFormat | 'f32';
}

/** The directory's quantization (null when config.json has none); errors name the file and key. */
export function quantizationOf(raw: Record<string, unknown>, source: string): QuantizationConfig | null {
  const q = raw.quantization_config as Partial<QuantizationConfig> | undefined;
  if (q === undefined || q === null) return null;
  if (typeof q !== 'object' || q.quant_method !== QUANT_METHOD) {
    throw new Error(`${source}: quantization_config ${JSON.stringify(q)} is not supported (expected {"quant_method": "${QUANT_METHOD}", "format": "q8_0" | "q4_0", ...}, as llm quantize writes)`);
  }
  if (!QUANT_FORMATS.includes(q.format as QuantFormat)) throw new Error(`${source}: quantization_config.format ${JSON.stringify(q.format)} is not q8_0 or q4_0`);
  return { quant_method: QUANT_METHOD, format: q.format as QuantFormat, block_size: QK, head_format: (q.head_format ?? 'f32') as QuantFormat | 'f32' };
}

/** The config entry describing `weights` (null when nothing is quantized). */
export function quantizationConfigOf(c: ModelConfig, weights: ModelWeights): QuantizationConfig | null {
  const head = weights['lm_head.weight']?.quant?.format ?? 'f32';
  const body = Object.entries(weights).find(([name, w]) => w.quant && name !== 'lm_head.weight' && name !== 'model.embed_tokens.weight');
  if (!body && head === 'f32') return null;
  return { quant_method: QUANT_METHOD, format: body?.[1].quant?.format ?? (head as QuantFormat), block_size: QK, head_format: head };
}

/** How one weight is stored: its blocks as U8 (rows, rowBytes), or f32 values in `dtype`. */
export function storedTensor(w: Weight, dtype: 'F32' | 'F16' | 'BF16'): WritableTensor {
  if (!w.quant) return { dtype, shape: w.shape, data: w.data };
  return { dtype: 'U8', shape: [w.quant.rows, rowBytes(w.quant.format, w.quant.cols)], bytes: w.quant.data };
}

/**
 * The tensors with every U8 one read from a quantized directory replaced by its quantized weight;
 * the format comes from the row length against the weight's expected (out, in) shape.
 */
export function restoreQuantized(c: ModelConfig, tensors: Record<string, SafeTensor>, origin: (name: string) => string): Record<string, Weight> {
  const expected = expectedWeights(c);
  const out: Record<string, Weight> = { ...tensors };
  for (const [name, t] of Object.entries(tensors)) {
    if (!t.bytes) continue;
    const shape = expected.get(name);
    if (!shape || shape.length !== 2) throw new Error(`${origin(name)}: U8 tensor "${name}" is not a matrix of ${c.architecture} (only linear weights are stored quantized)`);
    const [rows, cols] = shape;
    const format = QUANT_FORMATS.find((f) => cols % QK === 0 && t.shape[1] === rowBytes(f, cols));
    if (t.shape.length !== 2 || t.shape[0] !== rows || !format) {
      const want = QUANT_FORMATS.map((f) => `[${rows}, ${(cols / QK) * BLOCK_LAYOUTS[f].bytesPerBlock}] for ${BLOCK_LAYOUTS[f].name}`).join(' or ');
      throw new Error(`${origin(name)}: quantized tensor "${name}" has shape [${t.shape.join(', ')}], expected ${want} (weight shape [${rows}, ${cols}])`);
    }
    out[name] = quantizedWeight(quantizedMatrix(format, rows, cols, t.bytes));
  }
  return out;
}
