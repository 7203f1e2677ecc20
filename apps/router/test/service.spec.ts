import { ClientError, Status, connectGrpc, metricsRegistry } from '@llm/platform';
import { HealthDefinition } from 'nice-grpc-server-health';
import { inProcessMoeExecutor } from '@llm/moe';
import { router } from '@llm/proto';
import { RouterDispatchExecutor, RouterService, buildMoeModel, encodeMatrix } from '../src';
import { C, E, LAYERS, inProcess, mixtralConfig, mixtralWeights, randn, rng, routerMoe, serve, type Started } from './fixtures';

const T = 9;
const x = randn(T * C, rng(99), 1.5);
const reference = inProcessMoeExecutor(buildMoeModel(mixtralConfig, mixtralWeights(1)).layers);

async function code(p: Promise<unknown>): Promise<{ code: Status; details: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ClientError);
    return { code: (e as ClientError).code, details: (e as ClientError).details };
  }
  throw new Error('the call succeeded');
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('Router service', () => {
  const started: Started[] = [];
  afterAll(async () => {
    for (const s of started) await s.close();
  });
  async function start(impl: object, deadlineMs?: number): Promise<Started> {
    const s = await serve(impl, deadlineMs);
    started.push(s);
    return s;
  }

  it('Dispatch over gRPC and in-process equals the library executor', async () => {
    const grpc = await start(new RouterService(routerMoe()));
    for (const client of [grpc.client, inProcess(routerMoe())]) {
      const exec = new RouterDispatchExecutor(client, C);
      for (let l = 0; l < LAYERS; l++) expect(maxDiff(await exec.run(l, x, T), await reference.run(l, x, T))).toBe(0);
    }
  });

  it('two replicas: experts 0-1 here, 2-3 on a peer over gRPC', async () => {
    const peer = await start(new RouterService(routerMoe({ hosted: [2, 3] })));
    const gating = await start(new RouterService(routerMoe({ hosted: [0, 1], peers: [{ address: peer.server.address, client: peer.client }] })));
    const exec = new RouterDispatchExecutor(gating.client, C);
    for (let l = 0; l < LAYERS; l++) expect(maxDiff(await exec.run(l, x, T), await reference.run(l, x, T))).toBeLessThan(1e-6);
    const info = await gating.client.getRouterInfo({});
    expect(info).toEqual({ modelId: 'tiny-mixtral', moeLayerIndices: [0, 1], numExperts: E, hostedExpertIds: [0, 1], numExpertsPerToken: 2, hiddenSize: C });
  });

  it('Stats reports routed counts, gate probabilities and the aux loss of what was dispatched', async () => {
    const moe = routerMoe({ capacityFactor: 0.5 });
    const client = inProcess(moe);
    const read = async () => {
      // Copied now: prom-client hands out its live sample objects.
      const all = (await metricsRegistry().getMetricsAsJSON()).map((g) => ({ name: g.name, values: g.values.map((v) => ({ labels: { ...v.labels }, value: v.value })) }));
      return (name: string, labels: Record<string, string>) =>
        all.find((g) => g.name === name)?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
    };
    const before = await read(); // other routers in this file dispatched layer 1 too: compare the increase
    const res = await client.dispatch({ layerIndex: 1, hidden: encodeMatrix(x, T, C) });
    const lib = inProcessMoeExecutor(buildMoeModel(mixtralConfig, mixtralWeights(1), { capacityFactor: 0.5 }).layers);
    const want = await lib.dispatch(1, x, T);
    expect(res.numDroppedAssignments).toBe(want.numDroppedAssignments);
    expect(res.numDroppedAssignments).toBeGreaterThan(0); // capacity ceil(0.5 * 9 * 2 / 4) = 3 < 18 / 4
    const stats = await client.stats({ layerIndex: 1 });
    const [l] = lib.stats.snapshot();
    expect(stats.layers).toHaveLength(1);
    expect(stats.layers[0].numTokens).toBe(T);
    expect(stats.layers[0].auxLoss).toBeCloseTo(l.auxLoss, 12);
    expect(stats.layers[0].experts.map((e) => e.numTokensRouted)).toEqual(l.experts.map((e) => e.tokensRouted));
    expect(stats.layers[0].experts.map((e) => e.numTokensDropped)).toEqual(l.experts.map((e) => e.tokensDropped));
    expect(stats.layers[0].experts.reduce((s, e) => s + e.numTokensRouted, 0)).toBe(T * 2);
    expect((await client.stats({})).layers.map((s) => s.layerIndex)).toEqual([1]);
    // the same numbers as Prometheus metrics: the counters grew by this Dispatch's counts
    const value = await read();
    expect(value('llm_router_aux_loss', { layer: '1' })).toBeCloseTo(l.auxLoss, 12);
    expect(value('llm_router_tokens_total', { layer: '1' }) - before('llm_router_tokens_total', { layer: '1' })).toBe(T);
    l.experts.forEach((e) => {
      const labels = { layer: '1', expert: String(e.expert) };
      expect(value('llm_router_expert_tokens_total', labels) - before('llm_router_expert_tokens_total', labels)).toBe(e.tokensRouted);
      expect(value('llm_router_dropped_tokens_total', labels) - before('llm_router_dropped_tokens_total', labels)).toBe(e.tokensDropped);
      expect(value('llm_router_mean_gate_prob', { layer: '1', expert: String(e.expert) })).toBeCloseTo(e.meanGateProb, 12);
    });
    expect((await code(client.stats({ layerIndex: 5 }))).code).toBe(Status.INVALID_ARGUMENT);
  });

  it('answers health checks', async () => {
    const s = await start(new RouterService(routerMoe()));
    const health = connectGrpc(HealthDefinition, s.server.address);
    const r = await health.client.check({ service: router.RouterDefinition.fullName });
    expect(r.status).toBe(1); // SERVING
    health.close();
  });

  describe('bad input gives INVALID_ARGUMENT with the reason', () => {
    const clients = { inProcess: () => inProcess(routerMoe()), grpc: async () => (await start(new RouterService(routerMoe()))).client };
    for (const [name, make] of Object.entries(clients)) {
      it(`(${name})`, async () => {
        const client = await make();
        const wrongC = await code(client.dispatch({ layerIndex: 0, hidden: encodeMatrix(new Float32Array(2 * (C + 1)), 2, C + 1) }));
        expect(wrongC.code).toBe(Status.INVALID_ARGUMENT);
        expect(wrongC.details).toMatch(/hidden\.shape.*hidden size 17, expected 16/);
        const layer = await code(client.dispatch({ layerIndex: 7, hidden: encodeMatrix(x, T, C) }));
        expect(layer.code).toBe(Status.INVALID_ARGUMENT);
        expect(layer.details).toMatch(/field 'layer_index': unknown MoE layer 7 \(MoE layers are \[0, 1\]\)/);
        const nan = Float32Array.from(x);
        nan[4 * C + 3] = NaN;
        const nanErr = await code(client.dispatch({ layerIndex: 0, hidden: encodeMatrix(nan, T, C) }));
        expect(nanErr.code).toBe(Status.INVALID_ARGUMENT);
        expect(nanErr.details).toMatch(/non-finite value \(NaN\) at token 4/);
        const notHosted = await code(
          client.runExperts({ layerIndex: 0, hidden: encodeMatrix(x, T, C), assignments: [{ expertId: 9, rowIndices: [0] }] }),
        );
        expect(notHosted.code).toBe(Status.INVALID_ARGUMENT);
        expect(notHosted.details).toMatch(/expert 9 of layer 0 is not hosted by this replica/);
      });
    }

    it('a replica that does not host the requested expert', async () => {
      const client = inProcess(routerMoe({ hosted: [0, 1] }));
      const r = await code(client.runExperts({ layerIndex: 1, hidden: encodeMatrix(x, T, C), assignments: [{ expertId: 3, rowIndices: [0, 1] }] }));
      expect(r.code).toBe(Status.INVALID_ARGUMENT);
      expect(r.details).toMatch(/expert 3 of layer 1 is not hosted by this replica \(hosts \[0, 1\]\)/);
      // and such a replica cannot gate alone
      const d = await code(client.dispatch({ layerIndex: 0, hidden: encodeMatrix(x, T, C) }));
      expect(d.code).toBe(Status.FAILED_PRECONDITION);
      expect(d.details).toMatch(/experts \[2, 3\] are hosted neither here nor by a peer/);
    });
  });

  describe('a peer that is down: UNAVAILABLE after the deadline, never a hang', () => {
    it('peer down before the first call', async () => {
      const peer = await serve(new RouterService(routerMoe({ hosted: [2, 3] })));
      const address = peer.server.address;
      await peer.close();
      const conn = connectGrpc(router.RouterDefinition, address);
      const gating = inProcess(routerMoe({ hosted: [0, 1], peers: [{ address, client: conn.client }], deadlineMs: 500 }));
      const r = await code(gating.dispatch({ layerIndex: 0, hidden: encodeMatrix(x, T, C) }));
      expect(r.code).toBe(Status.UNAVAILABLE);
      expect(r.details).toMatch(new RegExp(`router replica ${address} did not answer GetRouterInfo`));
      conn.close();
    });

    it('peer goes down after discovery', async () => {
      const peer = await serve(new RouterService(routerMoe({ hosted: [2, 3] })), 500);
      const gating = inProcess(routerMoe({ hosted: [0, 1], peers: [{ address: peer.server.address, client: peer.client }], deadlineMs: 500 }));
      await gating.dispatch({ layerIndex: 0, hidden: encodeMatrix(x, T, C) });
      await peer.server.close(0);
      const r = await code(gating.dispatch({ layerIndex: 0, hidden: encodeMatrix(x, T, C) }));
      expect(r.code).toBe(Status.UNAVAILABLE);
      expect(r.details).toMatch(/did not answer RunExperts for layer 0/);
      await peer.close();
    });

    it('a peer that never answers hits the deadline', async () => {
      const real = new RouterService(routerMoe({ hosted: [2, 3] }));
      const silent = { getRouterInfo: () => real.getRouterInfo(), runExperts: () => new Promise(() => undefined) };
      const peer = await start(silent);
      const gating = inProcess(routerMoe({ hosted: [0, 1], peers: [{ address: peer.server.address, client: peer.client }], deadlineMs: 300 }));
      const started = Date.now();
      const r = await code(gating.dispatch({ layerIndex: 0, hidden: encodeMatrix(x, T, C) }));
      expect(r.code).toBe(Status.UNAVAILABLE);
      expect(r.details).toMatch(/DEADLINE_EXCEEDED/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    });
  });
});
