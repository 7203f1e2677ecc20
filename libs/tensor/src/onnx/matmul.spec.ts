/** @jest-environment ./src/onnx/ort-test-environment.js */
/*
 * OrtMatMul against a plain triple-loop matmul on random shapes (fast-check picks M, K, N and
 * the data seed), for both B layouts, plus the errors for mismatched operand sizes.
 */
import fc from 'fast-check';
import { matmulFlops, matmulGflops, OrtMatMul } from './matmul';

/** Deterministic uniform(-1, 1) data from a 32-bit seed (mulberry32). */
function randomArray(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** C[i, j] = sum_p A[i, p] B[p, j], in float64, with B read as (K, N) or (N, K). */
function refMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transB: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[i * k + p] * (transB ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = acc;
    }
  }
  return c;
}

describe('OrtMatMul', () => {
  let mm: OrtMatMul;
  let mmT: OrtMatMul;
  beforeAll(async () => {
    mm = await OrtMatMul.create({ threads: 1 });
    mmT = await OrtMatMul.create({ threads: 1, transB: true });
  });
  afterAll(async () => {
    await mm.dispose();
    await mmT.dispose();
  });

  it.each([false, true])('matches a plain JS matmul on random shapes (transB=%s)', async (transB) => {
    const shape = fc.integer({ min: 1, max: 70 });
    await fc.assert(
      fc.asyncProperty(shape, shape, shape, fc.integer(), async (m, k, n, seed) => {
        const a = randomArray(m * k, seed);
        const b = randomArray(k * n, seed ^ 0x9e3779b9);
        const c = await (transB ? mmT : mm).run(a, b, m, k, n);
        const ref = refMatmul(a, b, m, k, n, transB);
        expect(c.length).toBe(m * n);
        for (let i = 0; i < c.length; i++) {
          // |sum of K products of values in (-1, 1)| <= K; f32 accumulation error ~ K * 2^-24 * K.
          expect(Math.abs(c[i] - ref[i])).toBeLessThan(1e-5 * k + 1e-6);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('computes a hand-worked 2x3 by 3x2 product', async () => {
    // [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
    const c = await mm.run(Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(7, 8, 9, 10, 11, 12), 2, 3, 2);
    expect(Array.from(c)).toEqual([58, 64, 139, 154]);
  });

  it('rejects operands whose sizes do not match M, K, N', async () => {
    await expect(mm.run(new Float32Array(6), new Float32Array(6), 2, 4, 2)).rejects.toThrow(/A has 6 elements, expected M\*K = 8/);
    await expect(mm.run(new Float32Array(8), new Float32Array(6), 2, 4, 2)).rejects.toThrow(/B has 6 elements/);
    await expect(mm.run(new Float32Array(0), new Float32Array(0), 0, 4, 2)).rejects.toThrow(/M must be a positive integer/);
  });

  it('counts 2 M K N flops and converts time to GFLOP/s', () => {
    expect(matmulFlops(2, 3, 4)).toBe(48);
    expect(matmulGflops(1000, 1000, 1000, 2)).toBeCloseTo(1, 12);
  });
});
