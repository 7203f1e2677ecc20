import fc from 'fast-check';
import { MoeLayer, inProcessMoeExecutor, MoeInputError, type GatingConfig } from '../src';
import { maxAbsDiff, randn, randomExperts, refMoe, rng, type RefGating } from './reference';

function build(E: number, C: number, I: number, seed: number, ties: boolean) {
  const rand = rng(seed);
  const router = randn(E * C, rand, 1);
  if (ties) {
    // Copying a router row makes two experts' logits equal bit for bit for every token.
    for (let e = 1; e < E; e++) if (rand() < 0.5) router.copyWithin(e * C, (e - 1) * C, e * C);
  }
  return { router, experts: randomExperts(E, C, I, rand), hidden: (T: number) => randn(T * C, rand, 1) };
}

async function check(E: number, k: number, seed: number, ties: boolean, gating: GatingConfig, ref: RefGating) {
  const C = 6;
  const I = 10;
  const T = 7;
  const w = build(E, C, I, seed, ties);
  const layer = new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: k, gating, router: w.router, experts: w.experts });
  const x = w.hidden(T);
  const got = await layer.forward(x, T);
  const want = refMoe(x, T, C, I, w.router, w.experts, ref);
  expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
}

describe('MoeLayer.forward equals the per-token reference (gate, then sum of weighted expert outputs)', () => {
  it('random inputs, any k in 1..E, with and without ties', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        fc.boolean(),
        async (E, kFrac, seed, ties) => {
          const k = 1 + Math.floor(kFrac * (E - 1));
          await check(E, k, seed, ties, {}, { k });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('k = 1 and k = E', async () => {
    await check(5, 1, 11, true, {}, { k: 1 });
    await check(5, 5, 12, true, {}, { k: 5 });
  });

  it('no renormalisation, and sigmoid with groups', async () => {
    await check(6, 2, 21, false, { normTopkProb: false }, { k: 2, norm: false });
    await check(6, 3, 22, true, { scoring: 'sigmoid', numGroups: 3, topkGroups: 2, routedScalingFactor: 1.5 }, {
      k: 3,
      scoring: 'sigmoid',
      numGroups: 3,
      topkGroups: 2,
      scale: 1.5,
    });
  });

  it('zero tokens give an empty output', async () => {
    const w = build(4, 3, 5, 3, false);
    const layer = new MoeLayer({ hiddenSize: 3, intermediateSize: 5, numExperts: 4, topK: 2, router: w.router, experts: w.experts });
    expect((await layer.forward(new Float32Array(0), 0)).length).toBe(0);
  });

  it('the in-process executor equals the layer', async () => {
    const C = 5;
    const I = 7;
    const E = 4;
    const layers = new Map(
      [1, 3].map((l) => {
        const w = build(E, C, I, 100 + l, false);
        return [l, new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: 2, router: w.router, experts: w.experts })];
      }),
    );
    const exec = inProcessMoeExecutor(layers);
    const x = randn(9 * C, rng(5));
    for (const l of [1, 3]) expect(Array.from(await exec.run(l, x, 9))).toEqual(Array.from(await layers.get(l)!.forward(x, 9)));
    expect(exec.layers).toEqual([1, 3]);
  });
});

describe('bad input', () => {
  const C = 4;
  const I = 3;
  const E = 4;
  const w = build(E, C, I, 9, false);
  const layers = new Map([[2, new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: 2, router: w.router, experts: w.experts })]]);
  const exec = inProcessMoeExecutor(layers);

  it('wrong hidden size', async () => {
    await expect(exec.run(2, new Float32Array(7), 2)).rejects.toThrow(/hidden has 7 values, expected numTokens=2 x hiddenSize=4 = 8/);
  });

  it('unknown layer', async () => {
    await expect(exec.run(5, new Float32Array(4), 1)).rejects.toThrow(/unknown MoE layer 5 \(MoE layers are \[2\]\)/);
  });

  it('a NaN names its token', async () => {
    const x = new Float32Array(3 * C);
    x[2 * C + 1] = NaN;
    const err = await exec.run(2, x, 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MoeInputError);
    expect((err as MoeInputError).field).toBe('hidden');
    expect((err as Error).message).toMatch(/at token 2, channel 1/);
    x[2 * C + 1] = Infinity;
    await expect(exec.run(2, x, 3)).rejects.toThrow(/non-finite value \(Infinity\) at token 2/);
  });

  it('wrong weight shapes name the expert', () => {
    const bad = [...w.experts];
    bad[3] = { ...bad[3], w2: new Float32Array(5) };
    expect(() => new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: 2, router: w.router, experts: bad })).toThrow(
      /layer\.experts\[3\]\.w2 must be a Float32Array of 12 \(C=4 x I=3\) values, got 5/,
    );
    expect(() => new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: 2, router: new Float32Array(3), experts: w.experts })).toThrow(
      /router must be a Float32Array of numExperts=4 x hiddenSize=4 = 16 values, got 3/,
    );
    expect(() => new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: 2, router: w.router, experts: w.experts.slice(0, 2) })).toThrow(
      /experts\[2\] is missing/,
    );
  });
});
