import fc from 'fast-check';
import { MoeGate, MoeLoadStats, auxLoss, inProcessMoeExecutor, MoeLayer } from '../src';
import { randomExperts, rng } from './reference';

describe('load statistics and the Switch aux loss alpha * E * sum_i f_i P_i', () => {
  // C = 1, E = 2, router rows [ln 3] and [0]: x = 1 -> softmax [0.75, 0.25]; x = -1 -> [0.25, 0.75].
  const router = Float32Array.from([Math.log(3), 0]);
  const gate = new MoeGate({ hiddenSize: 1, numExperts: 2, topK: 1, router });

  it('hand-worked: skewed call then a mirrored call', () => {
    const stats = new MoeLoadStats(2, 1, 0.01);
    const first = gate.route(Float32Array.from([1, 1]), 2);
    stats.record(4, first.routing, first.plan);
    // f = [1, 0], P = [0.75, 0.25] -> 0.01 * 2 * 0.75 = 0.015
    let [layer] = stats.snapshot();
    expect(layer.layer).toBe(4);
    expect(layer.auxLoss).toBeCloseTo(0.015, 7);
    expect(layer.experts.map((e) => e.tokensRouted)).toEqual([2, 0]);
    expect(layer.experts[0].meanGateProb).toBeCloseTo(0.75, 6);

    const second = gate.route(Float32Array.from([-1, -1]), 2);
    stats.record(4, second.routing, second.plan);
    // cumulative f = [0.5, 0.5], P = [0.5, 0.5] -> 0.01 * 2 * 0.5 = 0.01 (the balanced minimum)
    [layer] = stats.snapshot();
    expect(layer.numTokens).toBe(4);
    expect(layer.auxLoss).toBeCloseTo(0.01, 7);
    expect(layer.lastAuxLoss).toBeCloseTo(0.015, 7);
    expect(layer.experts.map((e) => e.meanGateProb)).toEqual([0.5, 0.5]);
    stats.reset();
    expect(stats.snapshot()).toEqual([]);
  });

  it('even routing with uniform probabilities gives exactly alpha, for any E and k', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 50 }), (E, kRaw, T) => {
        const k = 1 + (kRaw % E);
        const routed = new Array(E).fill((T * k) / E);
        const probSum = new Array(E).fill(T / E);
        expect(auxLoss(0.3, routed, probSum, T, k)).toBeCloseTo(0.3, 9);
      }),
    );
  });

  it('the executor records routed and dropped counts per layer and expert', async () => {
    const E = 4;
    const experts = randomExperts(E, 1, 2, rng(3));
    // every token prefers expert 0 (logit 2x), then 1 (x), so capacity 1 drops most of them
    const r = Float32Array.from([2, 1, -1, -2]);
    const layer = new MoeLayer({ hiddenSize: 1, intermediateSize: 2, numExperts: E, topK: 1, router: r, experts, capacityFactor: 1 });
    const exec = inProcessMoeExecutor(new Map([[7, layer]]));
    await exec.run(7, Float32Array.from([1, 2, 3, 4]), 4); // capacity = ceil(4 / 4) = 1
    const [s] = exec.stats.snapshot();
    expect(s.experts.map((e) => e.tokensRouted)).toEqual([4, 0, 0, 0]);
    expect(s.experts.map((e) => e.tokensDropped)).toEqual([3, 0, 0, 0]);
    expect(s.numTokensDropped).toBe(3);
  });
});
