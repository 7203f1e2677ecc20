/*
 * Q8_0: symmetric 8-bit, one f16 scale per block of 32 (ggml block_q8_0, 34 bytes):
 *
 *   d = max_j |x_j| / 127;   q_j = round(x_j / d) in [-127, 127];   x_j ~ q_j * d
 *
 * quantizeRowQ8_0 computes what ggml's reference quantizer writes: single-precision
 * arithmetic (Math.fround), the multiplier 1/d taken from the unrounded d, round half away
 * from zero (C's roundf), d stored as IEEE half. dequantizeRowQ8_0 is exact (q * d has at most
 * 18 significant bits). Arguments follow (outputs, inputs, sizes).
 * Not here: SIMD, or the activation-side Q8 used by llama.cpp's dot products.
 */
import { f16BitsToF32, f32ToF16Bits } from '../io/dtype';
import { BLOCK_LAYOUTS, QK } from './formats';

const BYTES = BLOCK_LAYOUTS.q8_0.bytesPerBlock;
const f = Math.fround;

/** C roundf: nearest integer, halves away from zero. */
export function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** dst (n/32 blocks x 34 bytes) = Q8_0(src[0..n)); n a multiple of 32. */
export function quantizeRowQ8_0(dst: Uint8Array, src: Float32Array, n: number, dstOffset = 0, srcOffset = 0): void {
  if (n % QK !== 0) throw new Error(`Q8_0 rows need a multiple of ${QK} values, got ${n}`);
  for (let b = 0; b < n / QK; b++) {
    const x = srcOffset + b * QK;
    const o = dstOffset + b * BYTES;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x + j]));
    const d = f(amax / 127);
    const id = d !== 0 ? f(1 / d) : 0;
    const h = f32ToF16Bits(d);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
    for (let j = 0; j < QK; j++) dst[o + 2 + j] = roundHalfAway(f(src[x + j] * id)) & 0xff; // int8 two's complement
  }
}

/** dst[0..n) = the weights of n/32 Q8_0 blocks in src. */
export function dequantizeRowQ8_0(dst: Float32Array, src: Uint8Array, n: number, dstOffset = 0, srcOffset = 0): void {
  if (n % QK !== 0) throw new Error(`Q8_0 rows need a multiple of ${QK} values, got ${n}`);
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * BYTES;
    const d = f16BitsToF32(src[o] | (src[o + 1] << 8));
    const y = dstOffset + b * QK;
    for (let j = 0; j < QK; j++) dst[y + j] = ((src[o + 2 + j] << 24) >> 24) * d; // sign-extend the int8
  }
}
