/*
 * Q4_0: 4-bit with an implicit offset of 8, one f16 scale per block of 32 (ggml block_q4_0,
 * 18 bytes). The scale is signed so that the weight of largest magnitude lands exactly on -8:
 *
 *   m = the x_j of largest |x_j| (sign kept);  d = m / -8;  q_j = min(15, floor(x_j / d + 8.5))
 *   byte j (j < 16) = q_j | q_{j+16} << 4;      x_j ~ (q_j - 8) * d
 *
 * quantizeRowQ4_0 computes what ggml's reference quantizer writes (single-precision steps,
 * truncation of x/d + 8.5, d stored as IEEE half); dequantizeRowQ4_0 is exact.
 * Arguments follow (outputs, inputs, sizes). Not here: Q4_1 / Q4_K or importance weighting.
 */
import { f16BitsToF32, f32ToF16Bits } from '../io/dtype';
import { BLOCK_LAYOUTS, QK } from './formats';

const BYTES = BLOCK_LAYOUTS.q4_0.bytesPerBlock;
const HALF = QK / 2;
const f = Math.fround;

/** dst (n/32 blocks x 18 bytes) = Q4_0(src[0..n)); n a multiple of 32. */
export function quantizeRowQ4_0(dst: Uint8Array, src: Float32Array, n: number, dstOffset = 0, srcOffset = 0): void {
  if (n % QK !== 0) throw new Error(`Q4_0 rows need a multiple of ${QK} values, got ${n}`);
  for (let b = 0; b < n / QK; b++) {
    const x = srcOffset + b * QK;
    const o = dstOffset + b * BYTES;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = src[x + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -8);
    const id = d !== 0 ? f(1 / d) : 0;
    const h = f32ToF16Bits(d);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
    const q = (v: number) => Math.min(15, Math.trunc(f(f(v * id) + 8.5)));
    for (let j = 0; j < HALF; j++) dst[o + 2 + j] = q(src[x + j]) | (q(src[x + HALF + j]) << 4);
  }
}

/** dst[0..n) = the weights of n/32 Q4_0 blocks in src. */
export function dequantizeRowQ4_0(dst: Float32Array, src: Uint8Array, n: number, dstOffset = 0, srcOffset = 0): void {
  if (n % QK !== 0) throw new Error(`Q4_0 rows need a multiple of ${QK} values, got ${n}`);
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * BYTES;
    const d = f16BitsToF32(src[o] | (src[o + 1] << 8));
    const y = dstOffset + b * QK;
    for (let j = 0; j < HALF; j++) {
      const byte = src[o + 2 + j];
      dst[y + j] = ((byte & 0x0f) - 8) * d;
      dst[y + HALF + j] = ((byte >> 4) - 8) * d;
    }
  }
}
