/**
 * Attention tests: a hand-worked 3-token, d_k = 4 example, the causal mask matrix, the sqrt(d_k)
 * variance effect, flash == naive over random shapes / GQA groupings / cache lengths, and
 * incremental decoding through KvCache == full recomputation.
 */
import fc from 'fast-check';
import { attentionNaive, attentionFlash, causalMask, KvCache } from './index';
import { createRng } from '../random';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('hand-worked attention (T = 3, d_k = 4, one head)', () => {
  // scale = 1/sqrt(4) = 1/2
  const Q = Float32Array.from([2, 0, 0, 0, /**/ 0, 1, 0, 0, /**/ 2, 2, 2, 0]);
  const K = Float32Array.from([1, 0, 0, 0, /**/ 0, 2, 0, 0, /**/ 0, 0, 2, 0]);
  const V = Float32Array.from([1, 0, 0, 0, /**/ 0, 10, 0, 0, /**/ 0, 0, 100, 0]);
  const e = Math.E;
  // row 0 sees key 0 only                              -> v0
  // row 1: scores q1.k = [0, 2] / 2 = [0, 1]           -> (v0 + e v1) / (1 + e)
  // row 2: scores q2.k = [2, 4, 4] / 2 = [1, 2, 2]     -> (e v0 + e^2 v1 + e^2 v2) / (e + 2 e^2)
  const z2 = e + 2 * e * e;
  const want = [1, 0, 0, 0, 1 / (1 + e), (10 * e) / (1 + e), 0, 0, e / z2, (10 * e * e) / z2, (100 * e * e) / z2, 0];
  const shape = { numQueries: 3, numKeys: 3, numHeads: 1, numKvHeads: 1, headDim: 4 };

  it.each([
    ['naive', (o: Float32Array) => attentionNaive(o, Q, K, V, shape)],
    ['flash', (o: Float32Array) => attentionFlash(o, Q, K, V, shape, { blockQ: 2, blockK: 2 })],
  ])('%s', (_name, run) => {
    const out = new Float32Array(12);
    run(out);
    expect(maxAbsDiff(out, want)).toBeLessThan(1e-6);
  });

  it('without the mask every row sees every key', () => {
    const out = new Float32Array(12);
    attentionNaive(out, Q, K, V, { ...shape, causal: false });
    // row 0: scores [1, 0, 0]
    const z0 = e + 2;
    expect(maxAbsDiff(out.subarray(0, 4), [e / z0, 10 / z0, 100 / z0, 0])).toBeLessThan(1e-6);
  });
});

describe('causal mask', () => {
  it('is lower-triangular, shifted by the cached prefix', () => {
    const I = -Infinity;
    expect(Array.from(causalMask(3, 3))).toEqual([0, I, I, 0, 0, I, 0, 0, 0]);
    expect(Array.from(causalMask(2, 4))).toEqual([0, 0, 0, I, 0, 0, 0, 0]);
  });
});

describe('the 1/sqrt(d_k) scale', () => {
  it('keeps q.k at unit variance for unit-variance inputs', () => {
    // For q, k with iid N(0, 1) entries, Var(q.k) = d_k; dividing by sqrt(d_k) brings it to 1.
    const dk = 64;
    const rng = createRng(3);
    const n = 4000;
    let sumRaw = 0, sumSq = 0;
    for (let i = 0; i < n; i++) {
      const q = rng.normalArray(dk), k = rng.normalArray(dk);
      let d = 0;
      for (let j = 0; j < dk; j++) d += q[j] * k[j];
      sumRaw += d;
      sumSq += d * d;
    }
    const varRaw = sumSq / n - (sumRaw / n) ** 2;
    expect(varRaw / dk).toBeGreaterThan(0.9);
    expect(varRaw / dk).toBeLessThan(1.1);
    expect(varRaw / dk / dk).toBeLessThan(0.02); // unscaled it would be ~d_k times too large
  });

  it('applies exactly 1/sqrt(d_k) (hand-worked two-key case)', () => {
    // q = k0 = [1, 1, 1, 1], k1 = 0: raw scores [4, 0], scaled [2, 0]: weights [e^2, 1] / (e^2 + 1)
    const q = Float32Array.from([1, 1, 1, 1]);
    const k = Float32Array.from([1, 1, 1, 1, 0, 0, 0, 0]);
    const v = Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0]);
    const out = new Float32Array(4);
    attentionNaive(out, q, k, v, { numQueries: 1, numKeys: 2, numHeads: 1, numKvHeads: 1, headDim: 4 });
    const e2 = Math.exp(2);
    expect(maxAbsDiff(out, [e2 / (e2 + 1), 1 / (e2 + 1), 0, 0])).toBeLessThan(1e-6);
  });
});

describe('flash == naive', () => {
  it('over random shapes, GQA groupings and cache lengths', () => {
    fc.assert(fc.property(
      fc.record({
        T: fc.integer({ min: 1, max: 12 }), past: fc.integer({ min: 0, max: 20 }), NKV: fc.integer({ min: 1, max: 3 }),
        group: fc.integer({ min: 1, max: 4 }), HS: fc.integer({ min: 1, max: 9 }), Br: fc.integer({ min: 1, max: 5 }),
        Bk: fc.integer({ min: 1, max: 7 }), causal: fc.boolean(), seed: fc.integer(),
      }),
      ({ T, past, NKV, group, HS, Br, Bk, causal, seed }) => {
        const rng = createRng(seed);
        const NH = NKV * group, S = past + T;
        const q = rng.normalArray(T * NH * HS, 2), k = rng.normalArray(S * NKV * HS, 2), v = rng.normalArray(S * NKV * HS);
        const shape = { numQueries: T, numKeys: S, numHeads: NH, numKvHeads: NKV, headDim: HS, causal };
        const a = new Float32Array(T * NH * HS), b = new Float32Array(T * NH * HS);
        attentionNaive(a, q, k, v, shape);
        attentionFlash(b, q, k, v, shape, { blockQ: Br, blockK: Bk });
        expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
      },
    ), { numRuns: 150 });
  });

  it('shares kv heads by index (GQA) instead of mixing them', () => {
    // NH = 2, NKV = 1: both query heads must read the single kv head; MHA with a copied head agrees.
    const rng = createRng(11);
    const T = 3, HS = 2;
    const q = rng.normalArray(T * 2 * HS), k = rng.normalArray(T * HS), v = rng.normalArray(T * HS);
    const gqa = new Float32Array(T * 2 * HS);
    attentionFlash(gqa, q, k, v, { numQueries: T, numKeys: T, numHeads: 2, numKvHeads: 1, headDim: HS });
    const k2 = new Float32Array(T * 2 * HS), v2 = new Float32Array(T * 2 * HS);
    for (let t = 0; t < T; t++) for (let h = 0; h < 2; h++) for (let d = 0; d < HS; d++) {
      k2[(t * 2 + h) * HS + d] = k[t * HS + d];
      v2[(t * 2 + h) * HS + d] = v[t * HS + d];
    }
    const mha = new Float32Array(T * 2 * HS);
    attentionNaive(mha, q, k2, v2, { numQueries: T, numKeys: T, numHeads: 2, numKvHeads: 2, headDim: HS });
    expect(maxAbsDiff(gqa, mha)).toBeLessThan(1e-6);
  });

  it('rejects a kv head count that does not divide the heads', () => {
    const z = new Float32Array(64);
    expect(() => attentionFlash(z, z, z, z, { numQueries: 1, numKeys: 1, numHeads: 3, numKvHeads: 2, headDim: 2 })).toThrow(/numKvHeads=2 must divide numHeads=3/);
  });
});

describe('KvCache incremental decoding', () => {
  it.each([['naive', attentionNaive], ['flash', attentionFlash]] as const)('%s: chunked steps equal one full pass', (_n, attend) => {
    const rng = createRng(5);
    const S = 11, NH = 4, NKV = 2, HS = 3, L = 2;
    const q = rng.normalArray(S * NH * HS), k = rng.normalArray(S * NKV * HS), v = rng.normalArray(S * NKV * HS);
    const full = new Float32Array(S * NH * HS);
    attend(full, q, k, v, { numQueries: S, numKeys: S, numHeads: NH, numKvHeads: NKV, headDim: HS });
    const cache = new KvCache(L, NKV, HS, 2);
    const inc = new Float32Array(S * NH * HS);
    for (const [start, T] of [[0, 4], [4, 1], [5, 1], [6, 5]]) {
      for (let l = 0; l < L; l++) cache.write(l, start, k.subarray(start * NKV * HS), v.subarray(start * NKV * HS), T);
      const out = new Float32Array(T * NH * HS);
      attend(out, q.subarray(start * NH * HS), cache.k(1), cache.v(1), { numQueries: T, numKeys: start + T, numHeads: NH, numKvHeads: NKV, headDim: HS });
      inc.set(out, start * NH * HS);
      cache.advance(T);
    }
    expect(cache.length).toBe(S);
    expect(maxAbsDiff(full, inc)).toBeLessThan(1e-6);
  });
});

describe('KvCache', () => {
  it('truncate then re-append holds exactly what one clean pass holds', () => {
    const rng = createRng(8);
    const NKV = 2, HS = 3, row = NKV * HS;
    const k = rng.normalArray(6 * row), v = rng.normalArray(6 * row);
    const cache = new KvCache(1, NKV, HS, 1); // capacity 1: every write grows it
    cache.write(0, 0, k, v, 2);
    cache.advance(2);
    cache.write(0, 2, rng.normalArray(4 * row), rng.normalArray(4 * row), 4); // a suffix later dropped
    cache.advance(4);
    cache.truncate(2);
    expect(() => cache.write(0, 3, k, v, 1)).toThrow(/start=3 but the cache holds 2 tokens/);
    cache.write(0, 2, k.subarray(2 * row), v.subarray(2 * row), 4);
    cache.advance(4);
    expect(cache.length).toBe(6);
    expect(Array.from(cache.k(0).subarray(0, 6 * row))).toEqual(Array.from(k));
    expect(Array.from(cache.v(0).subarray(0, 6 * row))).toEqual(Array.from(v));
    expect(() => cache.truncate(7)).toThrow(/outside \[0, 6\]/);
  });
});
