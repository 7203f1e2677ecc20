import { MoeGate, MoeLayer, planDispatch, expertCapacity, gateTokens, resolveGating } from '../src';
import { randomExperts, refExpert, rng } from './reference';

// A skewed router over C = 2, E = 4, k = 2: rows e0 = [4, 0], e1 = [0, 4], e2 = [-4, -4], e3 = [-8, -8].
//   t0 = [0, 1]   -> logits [0, 4, -4, -8]   -> choices (1, 0)
//   t1 = [1, 0]   -> logits [4, 0, -4, -8]   -> choices (0, 1)
//   t2 = [1, 0.5] -> logits [4, 2, -6, -12]  -> choices (0, 1)
//   t3 = [-1, -1] -> logits [-4, -4, 8, 16]  -> choices (3, 2)
// Slots fill first choices before second choices, tokens in order.
const C = 2;
const I = 3;
const E = 4;
const router = Float32Array.from([4, 0, 0, 4, -4, -4, -8, -8]);
const hidden = Float32Array.from([0, 1, 1, 0, 1, 0.5, -1, -1]);
const experts = randomExperts(E, C, I, rng(42));

function top2(logits: number[]): number[] {
  // renormalised top-2 softmax weights = softmax over the two chosen logits
  const [a, b] = logits;
  return [1 / (1 + Math.exp(b - a)), 1 / (1 + Math.exp(a - b))];
}

describe('capacity factor with a skewed router (hand-computed)', () => {
  it('capacity = ceil(cf * T * k / E)', () => {
    expect(expertCapacity(1, 4, 2, 4)).toBe(2);
    expect(expertCapacity(0.5, 4, 2, 4)).toBe(1);
    expect(expertCapacity(1.25, 10, 1, 8)).toBe(2); // ceil(1.5625)
  });

  it('cf = 1 (capacity 2): t0 loses its 2nd choice (e0 full), t2 its 2nd (e1 full)', async () => {
    // first choices: e1 <- t0, e0 <- t1, e0 <- t2, e3 <- t3   (e0 now full)
    // second choices: e0 <- t0 DROPPED, e1 <- t1, e1 <- t2 DROPPED (e1 full), e2 <- t3
    const gate = new MoeGate({ hiddenSize: C, numExperts: E, topK: 2, router, capacityFactor: 1 });
    const { plan } = gate.route(hidden, 4);
    expect(plan.capacity).toBe(2);
    expect(Array.from(plan.keptIds)).toEqual([1, -1, 0, 1, 0, -1, 3, 2]);
    expect(Array.from(plan.numRouted)).toEqual([3, 3, 1, 1]);
    expect(Array.from(plan.numDropped)).toEqual([1, 1, 0, 0]);
    expect(plan.numTokensDropped).toBe(0);

    const layer = new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: 2, router, experts, capacityFactor: 1 });
    const out = await layer.forward(hidden, 4);
    const y = (t: number, e: number) => refExpert(Array.from(hidden.subarray(t * C, t * C + C)), experts[e], C, I);
    // Kept weights stay as the gate gave them (no renormalisation after a drop).
    const [w00] = top2([4, 0]); // t0: e1 (logit 4) beats e0 (logit 0)
    const [w10, w11] = top2([4, 0]);
    const [w20] = top2([4, 2]);
    const [w30, w31] = top2([16, 8]);
    const want = [
      y(0, 1).map((v) => w00 * v),
      y(1, 0).map((v, c) => w10 * v + w11 * y(1, 1)[c]),
      y(2, 0).map((v) => w20 * v),
      y(3, 3).map((v, c) => w30 * v + w31 * y(3, 2)[c]),
    ].flat();
    want.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
  });

  it('cf = 0.5 (capacity 1): t2 loses both choices and passes through as 0', async () => {
    // first: e1 <- t0, e0 <- t1, e0 <- t2 DROPPED, e3 <- t3
    // second: e0 <- t0 DROPPED, e1 <- t1 DROPPED, e1 <- t2 DROPPED, e2 <- t3
    const routing = gateTokens(
      Float32Array.from([0, 4, -4, -8, 4, 0, -4, -8, 4, 2, -6, -12, -4, -4, 8, 16]),
      4,
      resolveGating({}, E, 2),
    );
    const plan = planDispatch(routing, E, 0.5);
    expect(Array.from(plan.keptIds)).toEqual([1, -1, 0, -1, -1, -1, 3, 2]);
    expect(Array.from(plan.numDropped)).toEqual([2, 2, 0, 0]);
    expect(plan.numTokensDropped).toBe(1);

    const layer = new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: 2, router, experts, capacityFactor: 0.5 });
    const out = await layer.forward(hidden, 4);
    expect(Array.from(out.subarray(2 * C, 3 * C))).toEqual([0, 0]);
    const [w10] = top2([4, 0]);
    const y10 = refExpert([1, 0], experts[0], C, I);
    expect(out[2]).toBeCloseTo(w10 * y10[0], 5);
    expect(out[3]).toBeCloseTo(w10 * y10[1], 5);
  });

  it('dropless by default', () => {
    const { plan } = new MoeGate({ hiddenSize: C, numExperts: E, topK: 2, router }).route(hidden, 4);
    expect(plan.capacity).toBeNull();
    expect(Array.from(plan.keptIds)).toEqual([1, 0, 0, 1, 0, 1, 3, 2]);
    expect(Array.from(plan.numDropped)).toEqual([0, 0, 0, 0]);
  });

  it('rejects a non-positive capacity factor', () => {
    expect(() => new MoeGate({ hiddenSize: C, numExperts: E, topK: 2, router, capacityFactor: 0 })).toThrow(/capacityFactor must be a finite number > 0/);
  });
});
