/*
 * Linear layers with quantized weights as ONNX nodes, y (M, N) = x (M, K) W^T, activations f32:
 *
 *   matMulNBits        com.microsoft MatMulNBits: W as (N, K/bs, bs*bits/8) uint8 codes packed
 *                      low-first along K, one f32 scale per block, implicit zero point 2^(bits-1):
 *                      W[n, k] = (code - 2^(bits-1)) * scale[n, k/bs]. accuracy_level 0 computes
 *                      in f32 (weights dequantized in the kernel); 4 quantizes x to int8 per block.
 *   dynamicInt8MatMul  DynamicQuantizeLinear(x) -> (uint8 xq, scale sx, zero point zx), then
 *                      MatMulInteger(xq, Wq^T) - int8 weights, ONE scale per output row - and
 *                      y = f32(acc) * (sx * scale[n]). ORT fuses the chain into one kernel.
 *
 * These only place nodes and initializers; converting a model's block format into these layouts
 * is the model library's job (libs/model/src/quant/ort-pack.ts).
 * Reference: onnxruntime docs/ContribOperators.md (MatMulNBits), ONNX Operators.md
 * (DynamicQuantizeLinear, MatMulInteger).
 */
import type { OnnxGraphBuilder } from './graph-builder';

/** A weight in MatMulNBits' layout. */
export interface NBitsWeight {
  bits: 4 | 8;
  N: number; // output features (rows of W)
  K: number; // input features
  blockSize: number; // power of two >= 16
  /** (N, K/blockSize, blockSize*bits/8) codes, low-first. */
  packed: Uint8Array;
  /** (N * K/blockSize) scales, row-major (n, block). */
  scales: Float32Array;
}

/** A weight quantized to int8 per output row, stored transposed for MatMulInteger. */
export interface Int8RowWeight {
  N: number;
  K: number;
  /** (K, N) int8, W^T. */
  qT: Int8Array;
  /** (N) scale of each output row: W[n, k] = qT[k, n] * scales[n]. */
  scales: Float32Array;
}

const MS = 'com.microsoft';

function checkNBits(w: NBitsWeight, name: string): number {
  const blocks = Math.ceil(w.K / w.blockSize);
  const blob = (w.blockSize * w.bits) / 8;
  if (w.packed.length !== w.N * blocks * blob || w.scales.length !== w.N * blocks) {
    throw new Error(`MatMulNBits '${name}': (N ${w.N}, K ${w.K}, ${w.bits} bits, block ${w.blockSize}) needs ${w.N * blocks * blob} code bytes and ${w.N * blocks} scales, got ${w.packed.length} and ${w.scales.length}`);
  }
  return blocks;
}

/** y (M, N) = x (M, K) W^T with W block-quantized (see the file comment); returns y's name. */
export function matMulNBits(g: OnnxGraphBuilder, x: string, w: NBitsWeight, name: string, accuracyLevel = 0): string {
  const blocks = checkNBits(w, name);
  const b = g.initializer(`${name}.qweight`, w.packed, [w.N, blocks, (w.blockSize * w.bits) / 8], 'uint8');
  const s = g.initializer(`${name}.scales`, w.scales, [w.N * blocks]);
  return g.op('MatMulNBits', [x, b, s], { K: w.K, N: w.N, bits: w.bits, block_size: w.blockSize, accuracy_level: accuracyLevel }, MS);
}

/** y (M, N) = x (M, K) W^T with W int8 per row and x quantized to uint8 at run time. */
export function dynamicInt8MatMul(g: OnnxGraphBuilder, x: string, w: Int8RowWeight, name: string): string {
  if (w.qT.length !== w.K * w.N || w.scales.length !== w.N) {
    throw new Error(`MatMulInteger '${name}': (K ${w.K}, N ${w.N}) needs ${w.K * w.N} int8 weights and ${w.N} scales, got ${w.qT.length} and ${w.scales.length}`);
  }
  const [xq, sx, zx] = g.node('DynamicQuantizeLinear', [x], 3); // uint8 (M, K), f32 scalar, uint8 scalar
  const acc = g.op('MatMulInteger', [xq, g.initializer(`${name}.qweight`, w.qT, [w.K, w.N]), zx]); // int32 (M, N)
  const scale = g.op('Mul', [sx, g.initializer(`${name}.scales`, w.scales, [w.N])]); // (N) = sx * scale[n]
  return g.op('Mul', [g.op('Cast', [acc], { to: 1 }), scale]); // f32(acc) * scale
}
