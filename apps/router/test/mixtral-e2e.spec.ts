/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * End to end: a Mixtral-architecture model directory gives the same logits with its experts
 * computed by libs/model's reference executor, by libs/moe in process, through one router over
 * gRPC, and split across two router replicas over gRPC (experts on ONNX Runtime, as main.ts runs them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transformer, initRandomModel, loadModelDir, saveModelDir, type LoadedModel, type MoeLayerExecutor } from '@llm/model';
import { inProcessMoeExecutor } from '@llm/moe';
import { loadConfig } from '@llm/platform';
import { RouterDispatchExecutor, RouterService, buildMoeModel, createRouterMoe, routerConfigSchema, type RouterParts } from '../src';
import { serve, type Started } from './fixtures';

const PROMPT = [3, 141, 59, 265, 358, 97, 93, 238, 462, 64, 33, 83];

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('Mixtral model directory: same logits in-process, via one router, via two replicas', () => {
  let dir: string;
  let model: LoadedModel;
  let reference: Float32Array;
  const started: Started[] = [];
  const parts: RouterParts[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'router-mixtral-'));
    const { config, weights } = initRandomModel('mixtral', {}, 11);
    saveModelDir(dir, config, weights);
    model = await loadModelDir(dir);
    reference = await new Transformer(model.config, model.weights).forward(PROMPT); // libs/model's own experts
  });

  afterAll(async () => {
    for (const s of started) await s.close();
    for (const p of parts) {
      p.connections.forEach((c) => c.close());
      await p.moe.dispose();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function routerFor(overrides: { hostedExperts?: string; peers?: string }): Promise<Started> {
    const config = loadConfig(routerConfigSchema, { argv: [], env: {}, overrides: { modelDir: dir, threads: 1, peerDeadlineMs: 5000, ...overrides } });
    const p = await createRouterMoe(config);
    parts.push(p);
    const s = await serve(new RouterService(p.moe));
    started.push(s);
    return s;
  }

  async function logitsWith(executor: MoeLayerExecutor): Promise<Float32Array> {
    return new Transformer(model.config, model.weights, { moeExecutor: executor }).forward(PROMPT);
  }

  it('the model is a Mixtral whose experts matter at this tolerance', async () => {
    expect(model.config.arch).toBe('mixtral');
    expect(model.config.numExperts).toBeGreaterThan(2);
    expect(reference.length).toBe(PROMPT.length * model.config.vocabSize);
    // Dropping the MoE output moves the logits far more than the 1e-4 the paths below may differ by.
    const none: MoeLayerExecutor = { run: async (_l, _h, T) => new Float32Array(T * model.config.hiddenSize) };
    expect(maxDiff(await logitsWith(none), reference)).toBeGreaterThan(1e-2);
  });

  it('libs/moe in process', async () => {
    const exec = inProcessMoeExecutor(buildMoeModel(model.config.raw, model.weights).layers);
    expect(maxDiff(await logitsWith(exec), reference)).toBeLessThan(1e-4);
    expect(exec.stats.snapshot().map((l) => l.numTokens)).toEqual(Array(model.config.numLayers).fill(PROMPT.length));
  });

  it('one router over gRPC', async () => {
    const r = await routerFor({});
    const exec = new RouterDispatchExecutor(r.client, model.config.hiddenSize);
    expect(maxDiff(await logitsWith(exec), reference)).toBeLessThan(1e-4);
  });

  it('two router replicas over gRPC (experts split between them)', async () => {
    const E = model.config.numExperts;
    const half = E / 2;
    const peer = await routerFor({ hostedExperts: `${half}-${E - 1}` });
    const gating = await routerFor({ hostedExperts: `0-${half - 1}`, peers: peer.server.address });
    const exec = new RouterDispatchExecutor(gating.client, model.config.hiddenSize);
    expect(maxDiff(await logitsWith(exec), reference)).toBeLessThan(1e-4);
    const stats = await peer.client.stats({});
    expect(stats.layers).toEqual([]); // the peer only ran experts; gating and stats live on the gating replica
    const gated = await gating.client.stats({});
    expect(gated.layers.map((l) => l.numTokens)).toEqual(Array(model.config.numLayers).fill(PROMPT.length));
  });
});
