import fc from 'fast-check';
import { gateTokens, resolveGating, routerLogits, MoeInputError, type GatingConfig } from '../src';
import { randn, refGateToken, rng, type RefGating } from './reference';

/** Random (T, E) logits; with `ties`, some experts copy another's logit exactly. */
function randomLogits(T: number, E: number, seed: number, ties: boolean): Float32Array {
  const rand = rng(seed);
  const z = randn(T * E, rand, 3);
  if (ties) {
    for (let t = 0; t < T; t++) {
      for (let e = 1; e < E; e++) if (rand() < 0.4) z[t * E + e] = z[t * E + Math.floor(rand() * e)];
    }
  }
  return z;
}

function compare(z: Float32Array, T: number, E: number, cfg: GatingConfig, k: number, ref: RefGating): void {
  const r = gateTokens(z, T, resolveGating(cfg, E, k));
  for (let t = 0; t < T; t++) {
    const want = refGateToken(Array.from(z.subarray(t * E, (t + 1) * E)), ref);
    expect(Array.from(r.expertIds.subarray(t * k, (t + 1) * k))).toEqual(want.ids);
    want.weights.forEach((w, j) => expect(r.weights[t * k + j]).toBeCloseTo(w, 6));
    want.probs.forEach((p, e) => expect(r.probs[t * E + e]).toBeCloseTo(p, 6));
  }
}

const shapes = fc.record({
  T: fc.integer({ min: 1, max: 12 }),
  E: fc.integer({ min: 1, max: 10 }),
  kFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  seed: fc.integer(),
  ties: fc.boolean(),
});

describe('gating equals the per-token reference (softmax, sort, pick, weight)', () => {
  it('softmax + top-k + renormalise (Mixtral), any k in 1..E, with ties', () => {
    fc.assert(
      fc.property(shapes, ({ T, E, kFrac, seed, ties }) => {
        const k = 1 + Math.floor(kFrac * (E - 1));
        compare(randomLogits(T, E, seed, ties), T, E, {}, k, { k });
      }),
      { numRuns: 150 },
    );
  });

  it('softmax + top-k without renormalisation (Qwen-MoE norm_topk_prob=false)', () => {
    fc.assert(
      fc.property(shapes, ({ T, E, kFrac, seed, ties }) => {
        const k = 1 + Math.floor(kFrac * (E - 1));
        compare(randomLogits(T, E, seed, ties), T, E, { normTopkProb: false }, k, { k, norm: false });
      }),
      { numRuns: 100 },
    );
  });

  it('k = 1 and k = E at the edges', () => {
    const E = 6;
    const z = randomLogits(9, E, 7, true);
    compare(z, 9, E, {}, 1, { k: 1 });
    compare(z, 9, E, {}, E, { k: E });
    // k = E with renormalisation: weights are the full softmax.
    const r = gateTokens(z, 9, resolveGating({}, E, E));
    for (let t = 0; t < 9; t++) {
      let s = 0;
      for (let j = 0; j < E; j++) s += r.weights[t * E + j];
      expect(s).toBeCloseTo(1, 6);
    }
  });

  it('sigmoid + selection bias + group-limited routing (DeepSeek-V3 style)', () => {
    fc.assert(
      fc.property(
        fc.record({
          T: fc.integer({ min: 1, max: 8 }),
          G: fc.integer({ min: 1, max: 4 }),
          size: fc.integer({ min: 1, max: 4 }),
          seed: fc.integer(),
          ties: fc.boolean(),
          norm: fc.boolean(),
        }),
        ({ T, G, size, seed, ties, norm }) => {
          const E = G * size;
          const rand = rng(seed ^ 0x5bd1e995);
          const topkGroups = 1 + Math.floor(rand() * G);
          const k = 1 + Math.floor(rand() * topkGroups * size);
          const bias = Array.from({ length: E }, () => (rand() < 0.3 ? 0 : rand() - 0.5));
          const cfg: GatingConfig = {
            scoring: 'sigmoid',
            normTopkProb: norm,
            numGroups: G,
            topkGroups,
            selectionBias: Float32Array.from(bias),
            routedScalingFactor: 2.5,
          };
          const biasF32 = Array.from(Float32Array.from(bias));
          compare(randomLogits(T, E, seed, ties), T, E, cfg, k, {
            k,
            scoring: 'sigmoid',
            norm,
            numGroups: G,
            topkGroups,
            bias: biasF32,
            scale: 2.5,
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('hand-worked group-limited case: the bias steers selection but not the weights', () => {
    // E = 4 in 2 groups {0,1} {2,3}; logits 0 -> sigmoid 0.5 for all; bias [0, 0, 0.3, 0.1].
    // group scores: g0 = 0.5 + 0.5 = 1.0, g1 = 0.8 + 0.6 = 1.4 -> keep group 1 only.
    // top-2 inside group 1: experts 2, 3; weights 0.5/(0.5+0.5) = 0.5 each.
    const g = resolveGating(
      { scoring: 'sigmoid', numGroups: 2, topkGroups: 1, selectionBias: Float32Array.from([0, 0, 0.3, 0.1]) },
      4,
      2,
    );
    const r = gateTokens(new Float32Array(4), 1, g);
    expect(Array.from(r.expertIds)).toEqual([2, 3]);
    expect(Array.from(r.weights)).toEqual([0.5, 0.5]);
    expect(Array.from(r.probs)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('ties go to the lower expert index', () => {
    const r = gateTokens(Float32Array.from([1, 2, 2, 0, 2]), 1, resolveGating({}, 5, 2));
    expect(Array.from(r.expertIds)).toEqual([1, 2]);
    expect(r.weights[0]).toBeCloseTo(0.5, 7);
  });

  it('router logits are hidden · router^T', () => {
    // x = [1, 2], router rows e0 = [1, 0], e1 = [0.5, -1], e2 = [3, 1] -> [1, -1.5, 5]
    const z = routerLogits(Float32Array.from([1, 2]), Float32Array.from([1, 0, 0.5, -1, 3, 1]), 1, 2, 3);
    expect(Array.from(z)).toEqual([1, -1.5, 5]);
  });

  it('rejects bad configs naming the field', () => {
    expect(() => resolveGating({}, 4, 5)).toThrow(/topK must be an integer in 1\.\.4, got 5/);
    expect(() => resolveGating({ numGroups: 3 }, 4, 1)).toThrow(MoeInputError);
    expect(() => resolveGating({ numGroups: 4, topkGroups: 1 }, 4, 2)).toThrow(/cannot hold topK=2/);
    expect(() => resolveGating({ selectionBias: new Float32Array(3) }, 4, 1)).toThrow(/gating\.selectionBias/);
  });
});
