/*
 * A model Weight backed by a QuantizedMatrix: shape (rows, cols) as the f32 weight had, the
 * blocks in `quant`, and `data` a getter that dequantizes on first read and keeps the result.
 * So every f32 consumer (the reference Transformer, the TS backend, training's --init) runs the
 * quantized model's exact values unchanged, and the ONNX Runtime graph, which reads `quant`,
 * never materialises f32 copies of the matrices.
 */
import type { Weight } from '../weights/names';
import { dequantizeMatrix, type QuantizedMatrix } from './quantized-matrix';

/** The weight whose values are q's; `data` dequantizes lazily (once). */
export function quantizedWeight(q: QuantizedMatrix): Weight {
  let values: Float32Array | null = null;
  const w = { shape: [q.rows, q.cols], quant: q } as Weight;
  Object.defineProperty(w, 'data', { enumerable: true, get: () => (values ??= dequantizeMatrix(q)) });
  return w;
}

export function isQuantized(w: Weight | undefined): w is Weight & { quant: QuantizedMatrix } {
  return w?.quant !== undefined;
}
