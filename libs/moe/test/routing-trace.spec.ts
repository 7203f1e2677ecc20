/*
 * MoeExecutor.dispatch with traceRows (the internals trace): each traced row's gate probabilities,
 * chosen experts and combine weights equal the per-token reference gating function (reference.ts,
 * written apart from the library's flat code), every expert is attributed to the replica that ran
 * it, capacity drops are flagged, and the output is the same with and without tracing.
 */
import { ExpertHost, MoeExecutor, MoeGate, type ExpertReplica, type GatingConfig } from '../src';
import { randn, randomExperts, refGateToken, refLogits, rng, type RefGating } from './reference';

function setup(E: number, k: number, gating: GatingConfig, capacityFactor?: number) {
  const C = 5;
  const I = 7;
  const rand = rng(E * 31 + k);
  const router = randn(E * C, rand, 1.5);
  const experts = randomExperts(E, C, I, rand);
  const gate = new MoeGate({ hiddenSize: C, numExperts: E, topK: k, gating, router, capacityFactor });
  const host = (ids: number[]) => new ExpertHost({ hiddenSize: C, intermediateSize: I, numExperts: E, experts, hostedExperts: ids });
  const half = Array.from({ length: E }, (_, e) => e).filter((e) => e % 2 === 0);
  const rest = Array.from({ length: E }, (_, e) => e).filter((e) => e % 2 === 1);
  // Two replicas: the even experts in this process, the odd ones on a "peer" (named like a gRPC one).
  const local = host(half);
  const peer = host(rest);
  const replicas: ExpertReplica[] = [
    { name: 'local', hostedExperts: half, runExperts: (req) => local.runRows(req) },
    { name: '10.0.0.2:50053', hostedExperts: rest, runExperts: (req) => peer.runRows(req) },
  ];
  const exec = new MoeExecutor({ gates: new Map([[3, gate]]), replicas });
  return { exec, router, C, hidden: (T: number) => randn(T * C, rand, 1) };
}

async function expectReference(E: number, k: number, gating: GatingConfig, ref: RefGating) {
  const { exec, router, C, hidden } = setup(E, k, gating);
  const T = 9;
  const x = hidden(T);
  const rows = [0, 2, 3, 8];
  const traced = await exec.dispatch(3, x, T, Int32Array.from(rows));
  const plain = await exec.dispatch(3, x, T);
  expect(traced.output).toEqual(plain.output);
  expect(plain.routing).toBeUndefined();
  expect(traced.routing?.map((r) => r.row)).toEqual(rows);
  for (const r of traced.routing ?? []) {
    const want = refGateToken(refLogits(Array.from(x.subarray(r.row * C, (r.row + 1) * C)), router, E, C), ref);
    expect(r.expertIds).toEqual(want.ids);
    r.weights.forEach((w, j) => expect(w).toBeCloseTo(want.weights[j], 5));
    Array.from(r.probs).forEach((p, e) => expect(p).toBeCloseTo(want.probs[e], 5));
    expect(r.replicas).toEqual(r.expertIds.map((e) => (e % 2 === 0 ? 'local' : '10.0.0.2:50053')));
    expect(r.dropped).toEqual(r.expertIds.map(() => false));
  }
}

describe('MoeExecutor routing trace', () => {
  it('Mixtral gating: softmax probabilities, top-k, renormalised weights, replica per expert', async () => {
    await expectReference(8, 2, {}, { k: 2 });
  });

  it('no renormalisation and sigmoid group routing follow the same reference', async () => {
    await expectReference(6, 2, { normTopkProb: false }, { k: 2, norm: false });
    await expectReference(6, 3, { scoring: 'sigmoid', numGroups: 3, topkGroups: 2 }, { k: 3, scoring: 'sigmoid', numGroups: 3, topkGroups: 2 });
  });

  it('flags assignments the capacity dropped', async () => {
    // capacity = ceil(0.25 * 12 * 2 / 4) = 2 per expert: most of 24 assignments cannot fit.
    const { exec, hidden } = setup(4, 2, {}, 0.25);
    const T = 12;
    const res = await exec.dispatch(3, hidden(T), T, Int32Array.from({ length: T }, (_, t) => t));
    const flagged = (res.routing ?? []).reduce((n, r) => n + r.dropped.filter(Boolean).length, 0);
    expect(flagged).toBe(res.numDroppedAssignments);
    expect(flagged).toBe(24 - 4 * 2);
  });

  it('names the row that is out of range', async () => {
    const { exec, hidden } = setup(4, 2, {});
    await expect(exec.dispatch(3, hidden(2), 2, [5])).rejects.toThrow(/traceRows\[0\] = 5 is outside the 2 rows/);
  });
});
