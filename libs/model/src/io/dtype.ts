/**
 * Conversions between float32 and the 16-bit float formats of safetensors checkpoints:
 *   F16  (IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits; subnormals, inf, NaN)
 *   BF16 (bfloat16: the top 16 bits of a binary32)
 * Both directions round to nearest, ties to even, like torch's `.half()` / `.bfloat16()`.
 * f16Encode is the checked form a writer uses: a finite weight past F16's range (|x| >= 65520
 * rounds to inf) or a weight that is already inf/NaN is an error naming the tensor, never a
 * silent inf in the file.
 * Deliberately not: F8 formats or integer quantisation.
 */

const f32Buf = new Float32Array(1);
const u32Buf = new Uint32Array(f32Buf.buffer);

/** float32 -> binary16 bits, round to nearest even. */
export function f32ToF16Bits(value: number): number {
  f32Buf[0] = value;
  const x = u32Buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf / NaN (quiet)
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    // subnormal half (or zero): value = mant' * 2^-24
    if (e < -10) return sign; // below half the smallest subnormal -> 0
    mant |= 0x800000; // implicit leading 1
    const shift = 14 - e; // 24-bit significand down to (10 + e) bits
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m; // a carry into bit 10 correctly yields the smallest normal
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // carry may roll into the exponent (-> inf): correct
  return h;
}

/** The largest finite binary16 value; |x| >= 65520 rounds past it, to inf. */
export const F16_MAX = 65504;

/** A weight with no finite F16 value: the user can keep the model in F32 instead. */
export class F16RangeError extends Error {}

/** An F16RangeError when some element of `data` has no finite F16 value (it names `tensor`, the element and its value). */
export function assertFitsF16(data: Float32Array, tensor: string): void {
  for (let i = 0; i < data.length; i++) {
    if (Math.abs(data[i]) < 65520) continue; // [65504, 65520) rounds down to F16_MAX; 65520 ties to even, i.e. inf
    const why = Number.isFinite(data[i]) ? `beyond F16's range (|x| <= ${F16_MAX})` : 'not finite';
    throw new F16RangeError(`tensor "${tensor}" cannot be stored as F16: element ${i} is ${data[i]}, ${why}; keep it in F32 (--format f32)`);
  }
}

/** `data` as little-endian binary16 (2 bytes each, round to nearest even), after assertFitsF16. */
export function f16Encode(data: Float32Array, tensor: string): Uint8Array {
  assertFitsF16(data, tensor);
  const out = new Uint8Array(data.length * 2);
  for (let i = 0; i < data.length; i++) {
    const h = f32ToF16Bits(data[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  }
  return out;
}

/** binary16 bits -> float32 value (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 -> bfloat16 bits, round to nearest even (NaN stays NaN). */
export function f32ToBf16Bits(value: number): number {
  f32Buf[0] = value;
  const x = u32Buf[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** bfloat16 bits -> float32 value (exact). */
export function bf16BitsToF32(b: number): number {
  u32Buf[0] = (b & 0xffff) << 16;
  return f32Buf[0];
}

/** Rounds every element through the dtype and back: what a save/load cycle in that dtype yields. */
export function roundTripDtype(data: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Float32Array {
  if (dtype === 'F32') return Float32Array.from(data);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    out[i] = dtype === 'F16' ? f16BitsToF32(f32ToF16Bits(data[i])) : bf16BitsToF32(f32ToBf16Bits(data[i]));
  }
  return out;
}
