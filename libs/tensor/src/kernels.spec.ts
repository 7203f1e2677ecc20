/**
 * Kernel tests: hand-worked values, peer formulas written out plainly, and fast-check properties.
 */
import fc from 'fast-check';
import {
  matmul, matmulTransB, linear, add, mul, silu, gelu, erf, swiglu, softmaxRows, logSoftmaxRows,
  rmsNorm, layerNorm, embedding, topK, argmax, Tensor, createRng,
} from './index';

function naiveMatmul(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
    out.push(s);
  }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tol) throw new Error(`index ${i}: ${actual[i]} vs ${expected[i]} (tol ${tol})`);
  }
}

describe('matmul', () => {
  it('multiplies a hand-worked 2x3 by 3x2', () => {
    const out = new Float32Array(4);
    matmul(out, Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([7, 8, 9, 10, 11, 12]), 2, 3, 2);
    expect(Array.from(out)).toEqual([58, 64, 139, 154]);
  });

  it('matmul and matmulTransB equal the triple loop on random shapes', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 10 }), fc.integer(), (M, K, N, seed) => {
      const rng = createRng(seed);
      const a = rng.normalArray(M * K);
      const b = rng.normalArray(K * N);
      const bT = new Float32Array(N * K);
      for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) bT[j * K + k] = b[k * N + j];
      const want = naiveMatmul(a, b, M, K, N);
      const o1 = new Float32Array(M * N);
      const o2 = new Float32Array(M * N);
      matmul(o1, a, b, M, K, N);
      matmulTransB(o2, a, bT, M, K, N);
      expectClose(o1, want, 1e-5);
      expectClose(o2, want, 1e-5);
    }), { numRuns: 60 });
  });

  it('linear adds the bias to every row', () => {
    const out = new Float32Array(2);
    linear(out, Float32Array.from([1, 2]), Float32Array.from([3]), Float32Array.from([0.5]), 2, 1, 1);
    expect(Array.from(out)).toEqual([3.5, 6.5]); // 1*3+0.5, 2*3+0.5
  });

  it('runs in float64 for precision checks', () => {
    const out = new Float64Array(1);
    matmul(out, Float64Array.from([1e-10, 1]), Float64Array.from([1, 1e-10]), 1, 2, 1);
    expect(out[0]).toBe(2e-10);
  });

  it('names the short argument', () => {
    expect(() => matmul(new Float32Array(4), new Float32Array(5), new Float32Array(6), 2, 3, 2)).toThrow(/matmul a has 5 elements, expected at least 6/);
  });
});

describe('element-wise', () => {
  it('add, mul', () => {
    const out = new Float32Array(3);
    add(out, Float32Array.from([1, 2, 3]), Float32Array.from([4, 5, 6]), 3);
    expect(Array.from(out)).toEqual([5, 7, 9]);
    mul(out, out, Float32Array.from([2, 0, -1]), 3);
    expect(Array.from(out)).toEqual([10, 0, -9]);
  });

  it('silu matches x * sigmoid(x) at known points', () => {
    const out = new Float64Array(3);
    silu(out, Float64Array.from([0, 1, -2]), 3);
    expectClose(out, [0, 0.7310585786300049, -2 * 0.11920292202211755], 1e-15);
    swiglu(out, Float64Array.from([1, 1, 1]), Float64Array.from([2, 0, -1]), 3);
    expectClose(out, [2 * 0.7310585786300049, 0, -0.7310585786300049], 1e-15);
  });

  it('erf matches tabulated values', () => {
    // Abramowitz & Stegun table 7.1 / high-precision references
    expect(erf(0)).toBe(0);
    expect(Math.abs(erf(0.5) - 0.5204998778130465)).toBeLessThan(1e-15);
    expect(Math.abs(erf(-1) + 0.8427007929497149)).toBeLessThan(1e-15);
    expect(Math.abs(erf(2.9) - 0.9999589021219005)).toBeLessThan(5e-14); // series cancellation near the switch-over
    expect(Math.abs(erf(3.5) - 0.9999992569016276)).toBeLessThan(1e-15);
    expect(erf(10)).toBe(1);
  });

  it('gelu exact and tanh forms at known points', () => {
    const out = new Float64Array(2);
    gelu(out, Float64Array.from([1, -1]), 2, 'none');
    expectClose(out, [0.8413447460685429, -0.15865525393145707], 1e-15);
    gelu(out, Float64Array.from([1, -1]), 2, 'tanh');
    expectClose(out, [0.8411919906082768, -0.15880800939172324], 1e-15);
  });
});

describe('softmax', () => {
  it('hand-worked row and max subtraction on huge logits', () => {
    const out = new Float64Array(6);
    softmaxRows(out, Float64Array.from([0, Math.log(2), Math.log(5), 1000, 1000, 1000]), 2, 3);
    expectClose(out, [1 / 8, 2 / 8, 5 / 8, 1 / 3, 1 / 3, 1 / 3], 1e-15);
  });

  it('logSoftmax equals log(softmax) and stays finite', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 20 }), (xs) => {
      const x = Float64Array.from(xs);
      const p = new Float64Array(xs.length);
      const lp = new Float64Array(xs.length);
      softmaxRows(p, x, 1, xs.length);
      logSoftmaxRows(lp, x, 1, xs.length);
      for (let i = 0; i < xs.length; i++) expect(Math.abs(Math.exp(lp[i]) - p[i])).toBeLessThan(1e-12);
      expect(Math.abs(p.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-12);
    }));
  });
});

describe('norms', () => {
  it('rmsNorm: hand-worked row', () => {
    // x = [1, 2, 3, 4]: mean(x^2) = 30/4 = 7.5; y = x / sqrt(7.5 + eps) * w
    const out = new Float64Array(4);
    rmsNorm(out, Float64Array.from([1, 2, 3, 4]), Float64Array.from([1, 1, 2, 0.5]), 1, 4, 0.5);
    const r = 1 / Math.sqrt(8);
    expectClose(out, [r, 2 * r, 6 * r, 2 * r], 1e-15);
  });

  it('layerNorm: hand-worked row', () => {
    // x = [1, 2, 3, 4]: mean 2.5, var = (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    const out = new Float64Array(4);
    layerNorm(out, Float64Array.from([1, 2, 3, 4]), Float64Array.from([1, 1, 1, 2]), Float64Array.from([0, 1, 0, 0]), 1, 4, 0.75);
    const s = 1 / Math.sqrt(2); // 1 / sqrt(1.25 + 0.75)
    expectClose(out, [-1.5 * s, -0.5 * s + 1, 0.5 * s, 3 * s], 1e-15);
  });
});

describe('selection', () => {
  it('embedding gathers rows and rejects ids outside the vocab', () => {
    const table = Float32Array.from([0, 1, 10, 11, 20, 21]);
    const out = new Float32Array(4);
    embedding(out, table, [2, 0], 3, 2);
    expect(Array.from(out)).toEqual([20, 21, 0, 1]);
    expect(() => embedding(out, table, [3, 0], 3, 2)).toThrow(/token id 3 at position 0 is out of range \(expected an integer in \[0, 3\)/);
  });

  it('topK equals a stable sort, ties to the lower index', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 120 }), (xs, k) => {
      const got = topK(xs, k);
      const want = xs.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k);
      expect(Array.from(got.indices)).toEqual(want.map((p) => p[1]));
      expect(Array.from(got.values)).toEqual(want.map((p) => p[0]));
    }));
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });
});

describe('Tensor', () => {
  it('checks shapes and converts dtypes', () => {
    const t = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.get(1, 2)).toBe(6);
    expect(t.to('f64').dtype).toBe('f64');
    expect(() => Tensor.from([1, 2, 3], [2, 2])).toThrow(/3 elements but shape \[2, 2\] needs 4/);
  });
});
