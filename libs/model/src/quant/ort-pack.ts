/*
 * ggml blocks -> the weight layouts of ONNX Runtime's quantized kernels (@llm/tensor
 * quant-linear.ts), with no change of value:
 *
 *   Q8_0 -> MatMulNBits bits 8:  code = q + 128 (zero point 128), scale = d
 *   Q4_0 -> MatMulNBits bits 4:  code = q (zero point 8), scale = d; nibbles reordered from
 *           ggml's (j, j+16) per byte to ORT's (2j, 2j+1) per byte
 *
 * so (code - zero point) * scale is exactly the block's dequantized weight. `scale` multiplies
 * every block scale (the attention's 1/sqrt(HS) folded into Wq), in f32.
 * Also: any weight -> int8 per output row for DynamicQuantizeLinear + MatMulInteger
 * (symmetric, scale = max|row| / 127): a different, coarser format, used for comparison.
 */
import type { Int8RowWeight, NBitsWeight } from '@llm/tensor';
import { f16BitsToF32 } from '../io/dtype';
import { BLOCK_LAYOUTS, QK, rowBytes } from './formats';
import { dequantizeMatrix, type QuantizedMatrix } from './quantized-matrix';
import { roundHalfAway } from './q8_0';

/** Weight i (0..31) of the Q4_0 block whose 16 nibble bytes start at `qs`. */
function nibble(data: Uint8Array, qs: number, i: number): number {
  return i < QK / 2 ? data[qs + i] & 0x0f : data[qs + i - QK / 2] >> 4;
}

/** The MatMulNBits weight holding exactly q's values (times `scale`). */
export function toNBits(q: QuantizedMatrix, scale = 1): NBitsWeight {
  const { bits, bytesPerBlock } = BLOCK_LAYOUTS[q.format];
  const blocks = q.cols / QK;
  const blob = (QK * bits) / 8;
  const packed = new Uint8Array(q.rows * blocks * blob);
  const scales = new Float32Array(q.rows * blocks);
  const rb = rowBytes(q.format, q.cols);
  for (let r = 0; r < q.rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const src = r * rb + b * bytesPerBlock;
      const dst = (r * blocks + b) * blob;
      scales[r * blocks + b] = f16BitsToF32(q.data[src] | (q.data[src + 1] << 8)) * scale;
      if (bits === 8) {
        for (let j = 0; j < QK; j++) packed[dst + j] = q.data[src + 2 + j] ^ 0x80; // int8 q -> uint8 q + 128
      } else {
        // ggml byte i holds weights i and i + 16; ORT byte j holds weights 2j and 2j + 1
        for (let j = 0; j < QK / 2; j++) packed[dst + j] = nibble(q.data, src + 2, 2 * j) | (nibble(q.data, src + 2, 2 * j + 1) << 4);
      }
    }
  }
  return { bits, N: q.rows, K: q.cols, blockSize: QK, packed, scales };
}

/** [a; b; ...] stacked by output rows (same K, bits, block size). */
export function concatNBits(parts: NBitsWeight[]): NBitsWeight {
  const { bits, K, blockSize } = parts[0];
  for (const p of parts) if (p.bits !== bits || p.K !== K || p.blockSize !== blockSize) throw new Error('concatNBits: parts differ in bits, K or block size');
  const cat = <T extends Uint8Array | Float32Array>(xs: T[], make: (n: number) => T): T => {
    const out = make(xs.reduce((n, x) => n + x.length, 0));
    let off = 0;
    for (const x of xs) {
      out.set(x as never, off);
      off += x.length;
    }
    return out;
  };
  return {
    bits,
    K,
    blockSize,
    N: parts.reduce((n, p) => n + p.N, 0),
    packed: cat(parts.map((p) => p.packed), (n) => new Uint8Array(n)),
    scales: cat(parts.map((p) => p.scales), (n) => new Float32Array(n)),
  };
}

/** W (N, K) (f32, or q's dequantized values) times `scale` -> symmetric int8 per row, transposed. */
export function toInt8Rows(w: QuantizedMatrix | { data: Float32Array; rows: number; cols: number }, scale = 1): Int8RowWeight {
  const N = w.rows, K = w.cols;
  const data = 'format' in w ? dequantizeMatrix(w) : w.data;
  const qT = new Int8Array(K * N);
  const scales = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(data[n * K + k] * scale));
    const s = amax / 127;
    scales[n] = s;
    const inv = s ? 1 / s : 0;
    for (let k = 0; k < K; k++) qT[k * N + n] = roundHalfAway(data[n * K + k] * scale * inv);
  }
  return { N, K, qT, scales };
}

/** Int8 rows stacked by output rows (same K): the columns of the transposed matrices side by side. */
export function concatInt8Rows(parts: Int8RowWeight[]): Int8RowWeight {
  const K = parts[0].K;
  const N = parts.reduce((n, p) => n + p.N, 0);
  const qT = new Int8Array(K * N);
  const scales = new Float32Array(N);
  let col = 0;
  for (const p of parts) {
    if (p.K !== K) throw new Error('concatInt8Rows: parts differ in K');
    for (let k = 0; k < K; k++) qT.set(p.qT.subarray(k * p.N, (k + 1) * p.N), k * N + col);
    scales.set(p.scales, col);
    col += p.N;
  }
  return { N, K, qT, scales };
}
