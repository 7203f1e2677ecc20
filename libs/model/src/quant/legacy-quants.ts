/*
 * Reading ggml's other 32-weight block formats that GGUF files carry besides Q8_0 and Q4_0:
 * llama.cpp's K-quant files of models whose rows are not a multiple of 256 (SmolLM's 576, for
 * one) fall back to these for the affected tensors, and older files use them throughout.
 * Dequantization only: loading turns them into f32 weights.
 *
 *   Q4_1 (ggml type 3): 20 bytes = f16 d | f16 m | 16 bytes of nibbles      x = q * d + m
 *   Q5_0 (ggml type 6): 22 bytes = f16 d | u32 qh (LE) | 16 bytes of nibbles x = (q - 16) * d
 *   Q5_1 (ggml type 7): 24 bytes = f16 d | f16 m | u32 qh | 16 bytes         x = q * d + m
 *   Nibbles as in Q4_0: byte j holds weight j (low) and weight j + 16 (high). In the 5-bit
 *   formats bit j of qh is bit 4 of weight j (j < 32), so q_j = nibble_j | ((qh >> j) & 1) << 4.
 * Arithmetic in single precision as the reference dequantizers do (q * d exact, one rounding
 * for + m). Reference: ggml's block_q4_1 / block_q5_0 / block_q5_1 structs and dequantizers.
 * Not here: quantizing to these formats (the platform writes Q8_0 and Q4_0).
 */
import { f16BitsToF32 } from '../io/dtype';

const QK = 32;
export const Q4_1_BYTES = 20;
export const Q5_0_BYTES = 22;
export const Q5_1_BYTES = 24;

const half = (b: Uint8Array, o: number) => f16BitsToF32(b[o] | (b[o + 1] << 8));
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

function check(name: string, n: number): void {
  if (n % QK !== 0) throw new Error(`${name} rows need a multiple of ${QK} values, got ${n}`);
}

/**
 * One block: 32 values from nibbles at `qs`, 5th bits from `qh` (or none), as
 * (q - offset) * d + m, stored at dst[y ..].
 */
// m === null: a symmetric block (Q5_0), x * d with nothing added, as ggml computes it (adding a
// zero m would turn its -0 for x = 0 and d < 0 into +0).
function block(dst: Float32Array, y: number, src: Uint8Array, qs: number, qh: number | null, offset: number, d: number, m: number | null): void {
  for (let j = 0; j < QK / 2; j++) {
    const hi0 = qh === null ? 0 : ((qh >>> j) & 1) << 4;
    const hi1 = qh === null ? 0 : ((qh >>> (j + 16)) & 1) << 4;
    const x0 = (((src[qs + j] & 0x0f) | hi0) - offset) * d;
    const x1 = (((src[qs + j] >> 4) | hi1) - offset) * d;
    dst[y + j] = m === null ? x0 : x0 + m;
    dst[y + j + QK / 2] = m === null ? x1 : x1 + m;
  }
}

/** dst[0..n) = the weights of n/32 Q4_1 blocks in src. */
export function dequantizeRowQ4_1(dst: Float32Array, src: Uint8Array, n: number, dstOffset = 0, srcOffset = 0): void {
  check('Q4_1', n);
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * Q4_1_BYTES;
    block(dst, dstOffset + b * QK, src, o + 4, null, 0, half(src, o), half(src, o + 2));
  }
}

/** dst[0..n) = the weights of n/32 Q5_0 blocks in src. */
export function dequantizeRowQ5_0(dst: Float32Array, src: Uint8Array, n: number, dstOffset = 0, srcOffset = 0): void {
  check('Q5_0', n);
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * Q5_0_BYTES;
    block(dst, dstOffset + b * QK, src, o + 6, u32(src, o + 2), 16, half(src, o), null);
  }
}

/** dst[0..n) = the weights of n/32 Q5_1 blocks in src. */
export function dequantizeRowQ5_1(dst: Float32Array, src: Uint8Array, n: number, dstOffset = 0, srcOffset = 0): void {
  check('Q5_1', n);
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * Q5_1_BYTES;
    block(dst, dstOffset + b * QK, src, o + 8, u32(src, o + 4), 0, half(src, o), half(src, o + 2));
  }
}
