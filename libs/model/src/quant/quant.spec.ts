/*
 * Q8_0 and Q4_0 against blocks worked out by hand from the format's definition (scale bits,
 * every quant byte, the dequantized values, C's round-half-away and Q4_0's clamp at 15), and as
 * properties over random rows: the reconstruction error stays within the block's step, and
 * quantizing the dequantized values gives back the same bytes.
 */
import fc from 'fast-check';
import { f16BitsToF32 } from '../io/dtype';
import { rowBytes, parseQuantFormat, QK, type QuantFormat } from './formats';
import { dequantizeRowQ8_0, quantizeRowQ8_0 } from './q8_0';
import { dequantizeRowQ4_0, quantizeRowQ4_0 } from './q4_0';
import { dequantizeMatrix, quantizeMatrix, selectRows, stackRows } from './quantized-matrix';

function block(values: Record<number, number>): Float32Array {
  const x = new Float32Array(QK);
  for (const [j, v] of Object.entries(values)) x[Number(j)] = v;
  return x;
}

describe('Q8_0 by hand', () => {
  // amax 12.7 -> d = f32(12.7 / 127) = f32(0.1); 1/d = 10 in f32; half(0.1) = 0x2E66 = 0.0999755859375
  const x = block({ 0: 12.7, 1: -12.7, 2: 0.25, 3: -0.25, 4: 1, 5: -1, 7: 3.14 });
  const bytes = new Uint8Array(34);
  quantizeRowQ8_0(bytes, x, QK);

  it('writes the f16 scale then one int8 per weight, halves rounded away from zero', () => {
    //       d lo  d hi  127   -127  3(2.5) -3   10    -10   0   31 (31.4)
    const want = [0x66, 0x2e, 0x7f, 0x81, 0x03, 0xfd, 0x0a, 0xf6, 0x00, 0x1f, ...new Array(24).fill(0)];
    expect(Array.from(bytes)).toEqual(want);
  });

  it('dequantizes q * d with the stored half scale', () => {
    const d = 0.0999755859375;
    expect(f16BitsToF32(0x2e66)).toBe(d);
    const y = new Float32Array(QK);
    dequantizeRowQ8_0(y, bytes, QK);
    expect(Array.from(y.subarray(0, 8))).toEqual([127 * d, -127 * d, 3 * d, -3 * d, 10 * d, -10 * d, 0, 31 * d].map(Math.fround));
  });

  it('an all-zero block has scale 0 and zero quants', () => {
    const z = new Uint8Array(34).fill(0xaa);
    quantizeRowQ8_0(z, new Float32Array(QK), QK);
    expect(z.every((b) => b === 0)).toBe(true);
  });
});

describe('Q4_0 by hand', () => {
  it('negative extreme: d = -8 / -8 = 1, q = min(15, trunc(x + 8.5)), nibbles j | j+16', () => {
    const x = block({ 0: -8, 1: 7, 2: 0.5, 3: -0.5, 4: 3.2, 16: 2, 17: -3, 31: 8 });
    const bytes = new Uint8Array(18);
    quantizeRowQ4_0(bytes, x, QK);
    // q: j0 0, j1 15, j2 9, j3 8, j4 11, others 8; j16 10, j17 5, j31 15 (16.5 -> 16 -> clamped)
    const want = [0x00, 0x3c, 0xa0, 0x5f, 0x89, 0x88, 0x8b, ...new Array(10).fill(0x88), 0xf8];
    expect(Array.from(bytes)).toEqual(want);
    const y = new Float32Array(QK);
    dequantizeRowQ4_0(y, bytes, QK);
    const expected = new Array(QK).fill(0);
    Object.assign(expected, { 0: -8, 1: 7, 2: 1, 3: 0, 4: 3, 16: 2, 17: -3, 31: 7 });
    expect(Array.from(y)).toEqual(expected);
  });

  it('positive extreme: the scale turns negative so the extreme still lands on q = 0', () => {
    const x = block({ 0: 4, 1: -4, 2: 1 }); // d = 4 / -8 = -0.5 = half 0xB800
    const bytes = new Uint8Array(18);
    quantizeRowQ4_0(bytes, x, QK);
    // q0 = trunc(-8 + 8.5) = 0; q1 = trunc(8 + 8.5) = 16 -> 15; q2 = trunc(-2 + 8.5) = 6; zeros -> 8
    expect(Array.from(bytes.subarray(0, 5))).toEqual([0x00, 0xb8, 0x80, 0x8f, 0x86]);
    const y = new Float32Array(QK);
    dequantizeRowQ4_0(y, bytes, QK);
    expect(Array.from(y.subarray(0, 4))).toEqual([4, -3.5, 1, -0]); // (15 - 8) * -0.5 = -3.5: Q4_0 is asymmetric
  });
});

const FORMATS: QuantFormat[] = ['q8_0', 'q4_0'];
const rowArb = (blocks: number) =>
  fc.float32Array({ minLength: blocks * QK, maxLength: blocks * QK, noNaN: true, noDefaultInfinity: true, min: -1e4, max: 1e4 });

describe.each(FORMATS)('%s properties', (format) => {
  const quant = format === 'q8_0' ? quantizeRowQ8_0 : quantizeRowQ4_0;
  const dequant = format === 'q8_0' ? dequantizeRowQ8_0 : dequantizeRowQ4_0;

  it('reconstructs every weight within one quantization step of its block', () => {
    fc.assert(
      fc.property(rowArb(3), (x) => {
        const bytes = new Uint8Array(rowBytes(format, x.length));
        quant(bytes, x, x.length);
        const y = new Float32Array(x.length);
        dequant(y, bytes, x.length);
        for (let b = 0; b < x.length / QK; b++) {
          let amax = 0;
          for (let j = b * QK; j < (b + 1) * QK; j++) amax = Math.max(amax, Math.abs(x[j]));
          // the step d = amax / 127 (Q8_0) or amax / 8 (Q4_0), stored as an f16: off by at most
          // half an f16 ulp, or 2^-25 where it is subnormal (a block of tiny weights rounds to 0)
          const d = format === 'q8_0' ? amax / 127 : amax / 8;
          const dErr = Math.max(d * 2 ** -11, 2 ** -25);
          // Q8_0: half a step plus |q| <= 127 times the error of d; Q4_0: the clamp at 15 costs up to one step, |q - 8| <= 8
          const bound = format === 'q8_0' ? d / 2 + 127 * dErr : d + 8 * dErr;
          for (let j = b * QK; j < (b + 1) * QK; j++) expect(Math.abs(y[j] - x[j])).toBeLessThanOrEqual(bound * (1 + 1e-6));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('quantizing the dequantized values reproduces them exactly (and the bytes, up to blocks whose scale is zero)', () => {
    // A block whose f16 scale is +-0 dequantizes to zeros whatever its quants hold: values too small
    // for an f16 scale (max |x| / 127 below 2^-24) still get quants from the f32 scale, as
    // llama.cpp's reference quantizer computes them, and zeros quantize to zero quants.
    const valueBytes = (bytes: Uint8Array) => {
      const per = bytes.length / 2; // two blocks per row here
      const out = Array.from(bytes);
      for (let o = 0; o < bytes.length; o += per) if ((out[o + 1] & 0x7f) === 0 && out[o] === 0) out.fill(0, o, o + per);
      return out;
    };
    const tiny = new Float32Array(2 * QK);
    tiny[31] = -3.73219546069178e-37; // a counterexample a random run found: f16 scale 0, quants -127
    fc.assert(
      fc.property(rowArb(2), (x) => {
        const a = new Uint8Array(rowBytes(format, x.length));
        quant(a, x, x.length);
        const y = new Float32Array(x.length);
        dequant(y, a, x.length);
        const b = new Uint8Array(a.length);
        quant(b, y, y.length);
        const z = new Float32Array(x.length);
        dequant(z, b, z.length);
        expect(Array.from(z, (v) => v + 0)).toEqual(Array.from(y, (v) => v + 0));
        expect(valueBytes(b)).toEqual(valueBytes(a));
      }),
      { numRuns: 300, examples: [[tiny]] },
    );
  });

  it('matrices: rows quantize independently; selecting and stacking rows moves their blocks', () => {
    const rows = 3, cols = 64;
    const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.7) * (1 + (i % 5)));
    const q = quantizeMatrix(w, rows, cols, format);
    const row1 = quantizeMatrix(w.subarray(cols, 2 * cols), 1, cols, format);
    expect(Array.from(selectRows(q, 1, () => 1).data)).toEqual(Array.from(row1.data));
    const swapped = stackRows([selectRows(q, 1, () => 2), selectRows(q, 2, (i) => i)]);
    const deq = dequantizeMatrix(q), deqS = dequantizeMatrix(swapped);
    expect(Array.from(deqS.subarray(0, cols))).toEqual(Array.from(deq.subarray(2 * cols)));
    expect(Array.from(deqS.subarray(cols))).toEqual(Array.from(deq.subarray(0, 2 * cols)));
  });
});

describe('format errors', () => {
  it('names the problem', () => {
    expect(() => quantizeRowQ8_0(new Uint8Array(34), new Float32Array(31), 31)).toThrow('Q8_0 rows need a multiple of 32 values, got 31');
    expect(() => rowBytes('q4_0', 48)).toThrow('Q4_0 rows need a multiple of 32 values, got 48');
    expect(() => parseQuantFormat('q5_1', '--format')).toThrow('--format "q5_1" is not supported (expected q8_0 or q4_0)');
    expect(parseQuantFormat('Q8_0')).toBe('q8_0');
  });
});
