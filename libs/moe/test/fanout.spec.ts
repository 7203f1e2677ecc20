import {
  MoeExecutor,
  MoeLayer,
  inProcessMoeExecutor,
  localReplica,
  MoeInputError,
  type ExpertReplica,
  type ExpertRowsRequest,
} from '../src';
import { maxAbsDiff, randn, randomExperts, refExpert, refMoe, rng } from './reference';

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
  calls: ExpertRowsRequest[] = [];
  constructor(private readonly inner: ExpertReplica) {}
  get hostedExperts() {
    return this.inner.hostedExperts;
  }
  runExperts(req: ExpertRowsRequest) {
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
      expect(call.hidden.length).toBe(call.numRows * C);
      expect(call.numRows).toBeLessThanOrEqual(T);
      // every row sent is used by some expert
      const used = new Set(call.assignments.flatMap((x) => Array.from(x.rows)));
      expect(used.size).toBe(call.numRows);
    }
    // all T * k slots are covered exactly once across the two replicas (dropless)
    const perLayer0 = [a.calls[0], b.calls[0]].reduce((n, c) => n + c.assignments.reduce((m, x) => m + x.rows.length, 0), 0);
    expect(perLayer0).toBe(T * k);
    for (const call of a.calls) for (const x of call.assignments) expect(x.expertId < 4).toBe(true);
    for (const call of b.calls) for (const x of call.assignments) expect(x.expertId >= 4).toBe(true);
  });

  it('overlapping replicas: each expert runs on the first replica that hosts it', async () => {
    const a = new CountingReplica(localReplica(layers([0, 1, 2, 3, 4, 5])));
    const b = new CountingReplica(localReplica(layers([3, 4, 5, 6, 7])));
    const exec = inProcessMoeExecutor(layers(), { replicas: [a, b] });
    const got = await exec.run(2, x, T);
    const w = weights.get(2)!;
    expect(maxAbsDiff(got, refMoe(x, T, C, I, w.router, w.experts, { k }))).toBeLessThan(1e-4);
    for (const x of b.calls[0].assignments) expect(x.expertId >= 6).toBe(true);
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
    const rows = (expertId: number, ...r: number[]) => ({ expertId, rows: Int32Array.from(r) });
    const err = await r
      .runExperts({ layer: 0, hidden: new Float32Array(C), numRows: 1, assignments: [rows(1, 0), rows(5, 0)] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MoeInputError);
    expect((err as Error).message).toMatch(/expert 5 of layer 0 is not hosted by this replica \(hosts \[0, 1\]\)/);
    await expect(r.runExperts({ layer: 9, hidden: new Float32Array(C), numRows: 1, assignments: [rows(1, 0)] })).rejects.toThrow(
      /unknown MoE layer 9 \(this replica serves layers \[0, 2\]\)/,
    );
    await expect(r.runExperts({ layer: 0, hidden: new Float32Array(C), numRows: 1, assignments: [rows(1, 0, 3)] })).rejects.toThrow(
      /expert 1 of layer 0 asks for row 3, but hidden has 1 rows/,
    );
    await expect(r.runExperts({ layer: 0, hidden: new Float32Array(C + 1), numRows: 1, assignments: [rows(1, 0)] })).rejects.toThrow(
      /hidden has 9 values, expected rows=1 x hiddenSize=8 = 8/,
    );
    // unweighted outputs, one per assignment, in request order
    const x = randn(2 * C, rng(4), 1);
    const outs = await r.runExperts({ layer: 2, hidden: x, numRows: 2, assignments: [rows(1, 1), rows(0, 0, 1)] });
    const ref = (t: number, e: number) => refExpert(Array.from(x.subarray(t * C, t * C + C)), weights.get(2)!.experts[e], C, I);
    expect(maxAbsDiff(outs[0], ref(1, 1))).toBeLessThan(1e-5);
    expect(maxAbsDiff(outs[1], [...ref(0, 0), ...ref(1, 0)])).toBeLessThan(1e-5);
  });

  it('experts nobody hosts are refused at construction', () => {
    expect(() => inProcessMoeExecutor(layers(), { replicas: [localReplica(layers([0, 1, 2])), localReplica(layers([4, 5, 6, 7]))] })).toThrow(
      /no replica hosts expert 3/,
    );
  });

  it('a replica answering with the wrong size is an error, not a silent mix-up', async () => {
    const tooFew: ExpertReplica = { hostedExperts: [0, 1, 2, 3, 4, 5, 6, 7], runExperts: async () => [new Float32Array(3)] };
    const exec = new MoeExecutor({ gates: new Map([[0, layers().get(0)!.gate]]), replicas: [tooFew] });
    await expect(exec.run(0, x, T)).rejects.toThrow(/expert replica 0 answered 1 expert outputs, expected \d+/);
    const wrongRows: ExpertReplica = {
      hostedExperts: [0, 1, 2, 3, 4, 5, 6, 7],
      runExperts: async (req) => req.assignments.map(() => new Float32Array(3)),
    };
    const exec2 = new MoeExecutor({ gates: new Map([[0, layers().get(0)!.gate]]), replicas: [wrongRows] });
    await expect(exec2.run(0, x, T)).rejects.toThrow(/expert output 0 has 3 values, expected \d+ rows x 8/);
  });
});
