import {
  MoeExecutor,
  MoeLayer,
  inProcessMoeExecutor,
  localReplica,
  MoeInputError,
  type ExpertReplica,
  type ExpertRequest,
} from '@llm/moe';
import { maxAbsDiff, randn, randomExperts, refMoe, rng } from './reference';

const C = 8;
const I = 12;
const E = 8;
const k = 2;
const moeLayers = [0, 2];
const weights = new Map(
  moeLayers.map((l) => {
    const rand = rng(1000 + l);
    return [l, { router: randn(E * C, rand, 1.5), experts: randomExperts(E, C, I, rand) }];
  }),
);

function layers(hostedExperts?: number[], capacityFactor?: number): Map<number, MoeLayer> {
  return new Map(
    moeLayers.map((l) => {
      const w = weights.get(l)!;
      return [l, new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: k, router: w.router, experts: w.experts, hostedExperts, capacityFactor })];
    }),
  );
}

/** Records every request it forwards, so tests can count calls per replica. */
class CountingReplica implements ExpertReplica {
  calls: ExpertRequest[] = [];
  constructor(private readonly inner: ExpertReplica) {}
  get hostedExperts() {
    return this.inner.hostedExperts;
  }
  runExperts(req: ExpertRequest) {
    this.calls.push(req);
    return this.inner.runExperts(req);
  }
}

describe('expert parallelism: a gating executor fans out to replicas', () => {
  const T = 24;
  const x = randn(T * C, rng(77), 1);

  it('two replicas (experts 0-3 and 4-7) equal one in-process layer and the reference', async () => {
    const a = new CountingReplica(localReplica(layers([0, 1, 2, 3])));
    const b = new CountingReplica(localReplica(layers([4, 5, 6, 7])));
    const split = inProcessMoeExecutor(layers(), { replicas: [a, b] });
    const whole = inProcessMoeExecutor(layers());
    for (const l of moeLayers) {
      const got = await split.run(l, x, T);
      const w = weights.get(l)!;
      expect(maxAbsDiff(got, await whole.run(l, x, T))).toBeLessThan(1e-5);
      expect(maxAbsDiff(got, refMoe(x, T, C, I, w.router, w.experts, { k }))).toBeLessThan(1e-4);
    }
    // One call per replica per layer; each token row is sent to a replica at most once.
    expect(a.calls.map((c) => c.layer)).toEqual(moeLayers);
    expect(b.calls.map((c) => c.layer)).toEqual(moeLayers);
    for (const call of [...a.calls, ...b.calls]) {
      expect(call.hidden.length).toBe(call.numTokens * C);
      expect(call.numTokens).toBeLessThanOrEqual(T);
    }
    for (const call of a.calls) for (const e of call.expertIds) expect(e < 4).toBe(true);
    for (const call of b.calls) for (const e of call.expertIds) expect(e === -1 || e >= 4).toBe(true);
  });

  it('overlapping replicas: each expert runs on the first replica that hosts it', async () => {
    const a = new CountingReplica(localReplica(layers([0, 1, 2, 3, 4, 5])));
    const b = new CountingReplica(localReplica(layers([3, 4, 5, 6, 7])));
    const exec = inProcessMoeExecutor(layers(), { replicas: [a, b] });
    const got = await exec.run(2, x, T);
    const w = weights.get(2)!;
    expect(maxAbsDiff(got, refMoe(x, T, C, I, w.router, w.experts, { k }))).toBeLessThan(1e-4);
    for (const e of b.calls[0].expertIds) expect(e === -1 || e >= 6).toBe(true);
  });

  it('with a capacity, fan-out gives the same output as in-process', async () => {
    const split = inProcessMoeExecutor(layers(undefined, 0.5), { replicas: [localReplica(layers([0, 2, 4, 6])), localReplica(layers([1, 3, 5, 7]))] });
    const whole = inProcessMoeExecutor(layers(undefined, 0.5));
    expect(maxAbsDiff(await split.run(0, x, T), await whole.run(0, x, T))).toBeLessThan(1e-5);
    const dropped = whole.stats.snapshot()[0].experts.reduce((s, e) => s + e.tokensDropped, 0);
    expect(dropped).toBeGreaterThan(0);
    expect(split.stats.snapshot()[0].experts.map((e) => e.tokensDropped)).toEqual(whole.stats.snapshot()[0].experts.map((e) => e.tokensDropped));
  });

  it('a replica asked for an expert it does not host says so', async () => {
    const r = localReplica(layers([0, 1]));
    const err = await r
      .runExperts({ layer: 0, hidden: new Float32Array(C), numTokens: 1, topK: 2, expertIds: Int32Array.from([1, 5]), weights: new Float32Array(2) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MoeInputError);
    expect((err as Error).message).toMatch(/token 0 asks for expert 5 of layer 0, which this replica does not host \(hosts \[0, 1\]\)/);
    await expect(
      r.runExperts({ layer: 9, hidden: new Float32Array(C), numTokens: 1, topK: 2, expertIds: Int32Array.from([1, 0]), weights: new Float32Array(2) }),
    ).rejects.toThrow(/unknown MoE layer 9 \(this replica serves layers \[0, 2\]\)/);
  });

  it('experts nobody hosts are refused at construction', () => {
    expect(() => inProcessMoeExecutor(layers(), { replicas: [localReplica(layers([0, 1, 2])), localReplica(layers([4, 5, 6, 7]))] })).toThrow(
      /no replica hosts expert 3/,
    );
  });

  it('a replica answering with the wrong size is an error, not a silent mix-up', async () => {
    const broken: ExpertReplica = { hostedExperts: [0, 1, 2, 3, 4, 5, 6, 7], runExperts: async () => new Float32Array(3) };
    const exec = new MoeExecutor({ gates: new Map([[0, layers().get(0)!.gate]]), replicas: [broken] });
    await expect(exec.run(0, x, T)).rejects.toThrow(/expert replica 0 returned 3 values for 24 tokens/);
  });
});
