/*
 * Reading two of ggml's "k-quant" super-block formats that GGUF files commonly carry (llama.cpp
 * writes the output matrix of its Q4_0 files in Q6_K, and Q4_K_M files mix Q4_K and Q6_K).
 * Dequantization only: loading turns them into f32 weights (or the caller re-quantizes them).
 *
 *   Q4_K (ggml type 12): 256 weights, 144 bytes = f16 d | f16 dmin | 12 bytes of 6-bit scales and
 *     mins for 8 sub-blocks of 32 | 128 bytes of nibbles. Sub-block j: x = d*sc_j * q - dmin*m_j,
 *     the 64 weights of sub-blocks 2k, 2k+1 share 32 bytes (low nibbles, then high nibbles).
 *     sc_j, m_j (j < 4) = scales[j] & 63, scales[j+4] & 63; (j >= 4) = scales[j+4] & 15 | (scales[j-4] >> 6) << 4,
 *     scales[j+4] >> 4 | (scales[j] >> 6) << 4.
 *   Q5_K (ggml type 13): 256 weights, 176 bytes = f16 d | f16 dmin | 12 bytes of scales and mins as
 *     in Q4_K | 32 bytes qh | 128 bytes of nibbles. As Q4_K with a fifth bit: weight l of the
 *     k-th 64 (low nibbles) takes bit 2k of qh[l], of the high nibbles bit 2k + 1, worth 16.
 *   Q6_K (ggml type 14): 256 weights, 210 bytes = 128 bytes ql (low 4 bits) | 64 bytes qh (high 2
 *     bits) | 16 int8 scales (one per 16 weights) | f16 d.  x = d * scale * (q - 32), q in [0, 64);
 *     each half of 128 weights uses 64 ql and 32 qh bytes: for l < 32, weights l, l+32, l+64, l+96
 *     take ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high nibbles and qh[l] bits 0-1, 2-3, 4-5, 6-7.
 * Reference: ggml's block_q4_K / block_q6_K structs and their reference dequantizers.
 */
import { f16BitsToF32 } from '../io/dtype';

export const QK_K = 256;
export const Q4_K_BYTES = 144;
export const Q5_K_BYTES = 176;
export const Q6_K_BYTES = 210;

const half = (b: Uint8Array, o: number) => f16BitsToF32(b[o] | (b[o + 1] << 8));

/** Scale and min (6 bits each) of sub-block j from the 12 packed bytes at `s`. */
function scaleMin(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [b[s + j] & 63, b[s + j + 4] & 63];
  return [(b[s + j + 4] & 0x0f) | ((b[s + j - 4] >> 6) << 4), (b[s + j + 4] >> 4) | ((b[s + j] >> 6) << 4)];
}

/** dst[0..n) = the weights of n/256 Q4_K super-blocks in src. */
export function dequantizeRowQ4K(dst: Float32Array, src: Uint8Array, n: number, dstOffset = 0, srcOffset = 0): void {
  if (n % QK_K !== 0) throw new Error(`Q4_K rows need a multiple of ${QK_K} values, got ${n}`);
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOffset + b * Q4_K_BYTES;
    const d = half(src, o), dmin = half(src, o + 2);
    let y = dstOffset + b * QK_K;
    for (let k = 0; k < 4; k++) {
      const q = o + 16 + 32 * k;
      const [sc1, m1] = scaleMin(src, o + 4, 2 * k), [sc2, m2] = scaleMin(src, o + 4, 2 * k + 1);
      for (let l = 0; l < 32; l++) dst[y + l] = d * sc1 * (src[q + l] & 0x0f) - dmin * m1;
      for (let l = 0; l < 32; l++) dst[y + 32 + l] = d * sc2 * (src[q + l] >> 4) - dmin * m2;
      y += 64;
    }
  }
}

/** dst[0..n) = the weights of n/256 Q5_K super-blocks in src. */
export function dequantizeRowQ5K(dst: Float32Array, src: Uint8Array, n: number, dstOffset = 0, srcOffset = 0): void {
  if (n % QK_K !== 0) throw new Error(`Q5_K rows need a multiple of ${QK_K} values, got ${n}`);
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOffset + b * Q5_K_BYTES;
    const d = half(src, o), dmin = half(src, o + 2);
    const qh = o + 16;
    let y = dstOffset + b * QK_K;
    for (let k = 0; k < 4; k++) {
      const q = o + 48 + 32 * k;
      const [sc1, m1] = scaleMin(src, o + 4, 2 * k), [sc2, m2] = scaleMin(src, o + 4, 2 * k + 1);
      for (let l = 0; l < 32; l++) dst[y + l] = d * sc1 * ((src[q + l] & 0x0f) + ((src[qh + l] >> (2 * k)) & 1) * 16) - dmin * m1;
      for (let l = 0; l < 32; l++) dst[y + 32 + l] = d * sc2 * ((src[q + l] >> 4) + ((src[qh + l] >> (2 * k + 1)) & 1) * 16) - dmin * m2;
      y += 64;
    }
  }
}

/** dst[0..n) = the weights of n/256 Q6_K super-blocks in src. */
export function dequantizeRowQ6K(dst: Float32Array, src: Uint8Array, n: number, dstOffset = 0, srcOffset = 0): void {
  if (n % QK_K !== 0) throw new Error(`Q6_K rows need a multiple of ${QK_K} values, got ${n}`);
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOffset + b * Q6_K_BYTES;
    const d = half(src, o + 208);
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h, qh = o + 128 + 32 * h, sc = o + 192 + 8 * h;
      const y = dstOffset + b * QK_K + 128 * h;
      const scale = (i: number) => (src[sc + i] << 24) >> 24; // int8
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q1 = ((src[ql + l] & 0x0f) | (((src[qh + l] >> 0) & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 0x0f) | (((src[qh + l] >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((src[qh + l] >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((src[qh + l] >> 6) & 3) << 4)) - 32;
        dst[y + l] = d * scale(is) * q1;
        dst[y + l + 32] = d * scale(is + 2) * q2;
        dst[y + l + 64] = d * scale(is + 4) * q3;
        dst[y + l + 96] = d * scale(is + 6) * q4;
      }
    }
  }
}
