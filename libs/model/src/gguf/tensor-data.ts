/*
 * A GGUF tensor's bytes as a model weight, read one tensor at a time:
 *   F32           read straight into the Float32Array's memory (no second copy)
 *   F16, BF16     widened to f32
 *   Q8_0, Q4_0    kept as blocks (a quantized Weight: ONNX Runtime runs them as they are;
 *                 f32 consumers see the exact dequantized values)
 *   Q4_K, Q5_K, Q6_K  dequantized to f32 (llama.cpp stores the head of its Q4_0 files in Q6_K;
 *                 its Q4_K_M / Q5_K_M files mix these)
 *   Q4_1, Q5_0, Q5_1  dequantized to f32 (K-quant files fall back to them where a row is not a
 *                 multiple of 256, and older files use them throughout)
 * The shape is row-major (GGUF dims reversed): a matrix stored [ne0 = in, ne1 = out] is (out, in).
 * Other tensor types are refused with the list of supported ones.
 */
import { endianness } from 'node:os';
import { bf16BitsToF32, f16BitsToF32 } from '../io/dtype';
import type { QuantFormat } from '../quant/formats';
import { dequantizeRowQ4K, dequantizeRowQ5K, dequantizeRowQ6K } from '../quant/k-quants';
import { dequantizeRowQ4_1, dequantizeRowQ5_0, dequantizeRowQ5_1 } from '../quant/legacy-quants';
import { quantizedMatrix } from '../quant/quantized-matrix';
import { quantizedWeight } from '../quant/quantized-weight';
import type { Weight } from '../weights';
import type { GgufFile } from './reader';
import { GGML, GgufError, rowMajorShape, type GgufTensorInfo } from './types';

const LITTLE_ENDIAN = endianness() === 'LE';
const QUANT: Record<number, QuantFormat> = { [GGML.Q8_0]: 'q8_0', [GGML.Q4_0]: 'q4_0' };
export const SUPPORTED_TENSOR_TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'];
const Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q5_K = 13; // ggml_type ids

/** Decodes one tensor of the file into a Weight of its row-major shape. */
export function readWeight(file: GgufFile, t: GgufTensorInfo): Weight {
  const shape = rowMajorShape(t);
  const count = t.dims.reduce((a, b) => a * b, 1);
  const id = t.type.id;
  if (id === GGML.F32 && LITTLE_ENDIAN) {
    const data = new Float32Array(count);
    file.readTensor(t, new Uint8Array(data.buffer));
    return { shape, data };
  }
  if (QUANT[id]) {
    if (t.dims.length > 3) throw new GgufError(`${file.path}: quantized tensor "${t.name}" has ${t.dims.length} dimensions (expected at most 3)`);
    const cols = t.dims[0];
    const q = quantizedMatrix(QUANT[id], count / cols, cols, file.readTensor(t));
    const w = quantizedWeight(q);
    w.shape = shape;
    return w;
  }
  const bytes = file.readTensor(t);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(count);
  if (id === GGML.F32) for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
  else if (id === GGML.F16) for (let i = 0; i < count; i++) data[i] = f16BitsToF32(view.getUint16(2 * i, true));
  else if (id === GGML.BF16) for (let i = 0; i < count; i++) data[i] = bf16BitsToF32(view.getUint16(2 * i, true));
  else if (id === GGML.Q4_K) dequantizeRowQ4K(data, bytes, count);
  else if (id === Q5_K) dequantizeRowQ5K(data, bytes, count);
  else if (id === GGML.Q6_K) dequantizeRowQ6K(data, bytes, count);
  else if (id === Q4_1) dequantizeRowQ4_1(data, bytes, count);
  else if (id === Q5_0) dequantizeRowQ5_0(data, bytes, count);
  else if (id === Q5_1) dequantizeRowQ5_1(data, bytes, count);
  else throw new GgufError(`${file.path}: tensor "${t.name}" is ${t.type.name}, which this loader does not read (supported: ${SUPPORTED_TENSOR_TYPES.join(', ')})`);
  return { shape, data };
}
