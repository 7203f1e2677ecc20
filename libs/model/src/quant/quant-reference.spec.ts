/*
 * Q8_0 and Q4_0 against ggml's reference quantizers (quantize_row_q8_0_ref /
 * quantize_row_q4_0_ref) on blocks worked out by hand where their rules decide the bytes:
 *   - d is rounded to f16 to nearest, ties to even, but the multiplier is 1/d of the f32 d;
 *   - Q8_0 rounds x/d half away from zero (roundf); Q4_0 truncates x/d + 8.5 (so halves go up,
 *     -1.5 -> 7, not 6) and clamps at 15;
 *   - Q4_0's d keeps the sign of the first weight of largest magnitude;
 *   - an all-zero block is d = 0 (Q4_0: -0, as 0 / -8 is) with every quant at its zero point
 *     (0 for Q8_0, 8 for Q4_0);
 *   - a d below half the smallest f16 subnormal is stored as 0.
 */
import { f32ToF16Bits } from '../io/dtype';
import { QK } from './formats';
import { dequantizeRowQ4_0, quantizeRowQ4_0 } from './q4_0';
import { quantizeRowQ8_0 } from './q8_0';

function block(values: Record<number, number>): Float32Array {
  const x = new Float32Array(QK);
  for (const [j, v] of Object.entries(values)) x[Number(j)] = v;
  return x;
}
const q8 = (x: Float32Array) => {
  const b = new Uint8Array(34);
  quantizeRowQ8_0(b, x, QK);
  return b;
};
const q4 = (x: Float32Array) => {
  const b = new Uint8Array(18);
  quantizeRowQ4_0(b, x, QK);
  return b;
};
const int8 = (b: Uint8Array, j: number) => (b[2 + j] << 24) >> 24;

describe('the f16 scale', () => {
  it('rounds to nearest, ties to even', () => {
    // amax = 127 * (1 + 2^-11): d = 1 + 2^-11, halfway between half 0x3C00 and 0x3C01 -> 0x3C00 (even)
    expect(Array.from(q8(block({ 0: 127 * (1 + 2 ** -11) })).subarray(0, 2))).toEqual([0x00, 0x3c]);
    // amax = 127 * (1 + 3 * 2^-11): halfway between 0x3C01 and 0x3C02 -> 0x3C02 (even)
    expect(Array.from(q8(block({ 0: 127 * (1 + 3 * 2 ** -11) })).subarray(0, 2))).toEqual([0x02, 0x3c]);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
  });

  it('quantizes with 1/d of the unrounded d', () => {
    // d = 1 + 2^-11 is stored as 1.0, but 100.5 / (1 + 2^-11) = 100.45 -> 100 (with d = 1 it would be 101)
    const b = q8(block({ 0: 127 * (1 + 2 ** -11), 1: 100.5 }));
    expect([int8(b, 0), int8(b, 1)]).toEqual([127, 100]);
  });

  it('a subnormal d is kept; one below half the smallest subnormal is stored as 0', () => {
    expect(Array.from(q8(block({ 0: 127 * 2 ** -24 })).subarray(0, 3))).toEqual([0x01, 0x00, 127]); // d = 2^-24 = half 0x0001
    expect(Array.from(q8(block({ 0: -127 * 2 ** -26 })).subarray(0, 3))).toEqual([0x00, 0x00, 0x81]); // d = 2^-26 -> 0; q = -127 stays
  });
});

describe('Q8_0 rounding', () => {
  it('halves go away from zero; a negative extreme is -127 with a positive d', () => {
    // amax 127 (negative): d = 1, 1/d = 1
    const b = q8(block({ 0: -127, 1: 2.5, 2: -2.5, 3: 0.5, 4: -0.5, 5: 126.5, 6: -126.5, 7: 0.49 }));
    expect(Array.from(b.subarray(0, 2))).toEqual([0x00, 0x3c]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((j) => int8(b, j))).toEqual([-127, 3, -3, 1, -1, 127, -127, 0]);
  });

  it('an all-zero block is all zero bytes', () => {
    expect(Array.from(q8(new Float32Array(QK)))).toEqual(new Array(34).fill(0));
  });
});

describe('Q4_0 rounding', () => {
  it('truncates x/d + 8.5: halves go up, not away from zero', () => {
    // first extreme -8: d = -8 / -8 = 1
    const b = q4(block({ 0: -8, 1: -1.5, 2: -0.5, 3: 0.5, 4: -7.5, 5: 6.5, 6: 7 }));
    const nib = (j: number) => (j < 16 ? b[2 + j] & 0x0f : b[2 + j - 16] >> 4);
    // -8 -> 0, -1.5 -> 7, -0.5 -> 8, 0.5 -> 9, -7.5 -> 1, 6.5 -> 15, 7 -> 15.5 -> 15
    expect([0, 1, 2, 3, 4, 5, 6].map(nib)).toEqual([0, 7, 8, 9, 1, 15, 15]);
  });

  it('the first weight of largest magnitude sets the sign of d', () => {
    // -3 first: d = -3 / -8 = 0.375 (half 0x3600); 3 -> 3 / 0.375 + 8.5 = 16.5 -> 15
    expect(Array.from(q4(block({ 0: -3, 1: 3 })).subarray(0, 4))).toEqual([0x00, 0x36, 0x80, 0x8f]);
    // 3 first: d = -0.375 (half 0xB600); 3 -> 0, -3 -> 15
    expect(Array.from(q4(block({ 0: 3, 1: -3 })).subarray(0, 4))).toEqual([0x00, 0xb6, 0x80, 0x8f]);
  });

  it('an all-zero block is d = -0 (0 / -8 in IEEE arithmetic: half 0x8000) with every nibble 8, and dequantizes to zeros', () => {
    const b = q4(new Float32Array(QK));
    expect(Array.from(b)).toEqual([0x00, 0x80, ...new Array(16).fill(0x88)]);
    const y = new Float32Array(QK).fill(1);
    dequantizeRowQ4_0(y, b, QK);
    expect(Array.from(y, (v) => v + 0)).toEqual(new Array(QK).fill(0));
  });
});
