/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * The internals trace through the worker's Step contract over gRPC: a worker started with
 * --allow-trace (ORT backend) returns attention rows as little-endian float32 bytes equal to the
 * library's TS paged kernel on the same steps (1e-5), and MoE routing that crossed the router's
 * Dispatch (trace_rows in, routing out) with the router's replica names; a worker started without
 * it refuses a traced step with FAILED_PRECONDITION naming the flag.
 */
import { ClientError, Status } from 'nice-grpc';
import { createInProcessClient } from '@llm/platform';
import { router, type worker } from '@llm/proto';
import { createModelRunner, loadModelDir, ReferenceMoeExecutor } from '@llm/model';
import { decodeF32 } from '../src';
import { bootWorker, workerConfig, writeModelDir } from './harness';
import { GREEDY } from './test-scheduler';

const f32 = (b: Uint8Array) => new Float32Array(Uint8Array.from(b).buffer);
const TRACE = { tokenizer: false, attention: { layers: [], heads: [1, 2] }, moe: true, kv: false, scheduler: false, sampling: { top: 3 } };

function step(seqId: string, tokenIds: number[], start: number): worker.StepRequest {
  return {
    stepId: 1, copies: [], releaseSeqIds: [],
    sequences: [{ seqId, tokenIds, startPosition: start, blockIds: [1, 2, 3], sample: true, appendedOutputTokenIds: [], embedPooling: 0, promptLogprobs: false, trace: TRACE,
      state: start === 0 ? { params: GREEDY, promptTokenIds: tokenIds, outputTokenIds: [], grammarEbnf: '' } : undefined }],
  };
}

describe('internals trace through the worker', () => {
  it('ORT over gRPC gives the TS kernel rows; routing crosses the router with its replica names', async () => {
    const dir = writeModelDir('mixtral', 9, { initializer_range: 0.1 });
    const model = await loadModelDir(dir);
    const experts = new ReferenceMoeExecutor(model.config, model.weights);
    const C = model.config.hiddenSize;
    const asked: number[][] = [];
    const fakeRouter = {
      async dispatch(req: router.DispatchRequest): Promise<router.DispatchResponse> {
        const T = req.hidden?.shape[0] ?? 0;
        asked.push(req.traceRows);
        const trace = { rows: Int32Array.from(req.traceRows), out: [] as import('@llm/model').TokenRoutingTrace[] };
        const out = await experts.run(req.layerIndex, decodeF32(req.hidden, [T, C], 'test'), T, trace);
        const routing = trace.out.map((r) => ({ ...r, layer: req.layerIndex, replicas: r.expertIds.map((e) => (e < 2 ? 'router-a' : 'router-b')), gateProbsF32: Buffer.from(r.gateProbs.buffer) }));
        return { output: { dtype: router.DType.D_TYPE_F32, shape: [T, C], data: Buffer.from(out.buffer) }, numDroppedAssignments: 0, computeNs: 0, routing };
      },
    };
    const w = await bootWorker(workerConfig(dir, { backend: 'ort', allowTrace: true }), 'grpc', { router: createInProcessClient(router.RouterDefinition, fakeRouter) });
    const ref = await createModelRunner(model, { backend: 'ts', threads: 1, kvCacheBytes: 1 << 20, blockSize: 4, maxBatchSequences: 4, maxBatchTokens: 64 });
    try {
      const prompt = [4, 8, 15, 16, 23, 42];
      const got = await w.client.step(step('s', prompt, 0));
      const want = await ref.step({ sequences: [{ seqId: 's', tokenIds: prompt, startPosition: 0, blockIds: [1, 2, 3], sample: true, state: { params: { ...GREEDY, seed: 0n, logitBias: new Map() }, promptTokenIds: prompt, outputTokenIds: [] }, trace: { attention: { layers: [], heads: [1, 2] }, samplingTop: 3 } }] });
      const rows = got.outputs[0].trace?.attention ?? [];
      const wantRows = want.outputs[0].trace?.attention ?? [];
      expect(rows.length).toBe(prompt.length * model.config.numLayers * 2);
      expect(rows.map((r) => [r.layer, r.head, r.kvHead, r.queryPosition])).toEqual(wantRows.map((r) => [r.layer, r.head, r.kvHead, r.queryPosition]));
      rows.forEach((r, i) => f32(r.weightsF32).forEach((x, j) => expect(Math.abs(x - wantRows[i].weights[j])).toBeLessThan(1e-5)));
      const moe = got.outputs[0].trace?.moe ?? [];
      expect(asked.filter((r) => r.length > 0)).toEqual([[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]]); // both MoE layers, every row
      expect(moe.map((m) => [m.layer, m.position])).toEqual([0, 1].flatMap((l) => prompt.map((_, t) => [l, t])));
      for (const m of moe) {
        expect(f32(m.gateProbsF32).length).toBe(model.config.numExperts);
        expect(m.replicas).toEqual(m.expertIds.map((e) => (e < 2 ? 'router-a' : 'router-b')));
      }
      expect(got.outputs[0].trace?.sampling?.candidates.map((c) => c.tokenId)).toEqual(want.outputs[0].trace?.sampling?.candidates.map((c) => c.tokenId));
      expect(got.outputs[0].trace?.sampling?.candidates[0].tokenId).toBe(got.outputs[0].tokenId); // greedy: the best candidate
      const plain = step('u', prompt, 0);
      plain.sequences[0] = { ...plain.sequences[0], trace: undefined, blockIds: [4, 5, 6] };
      const untraced = await w.client.step(plain);
      expect(untraced.outputs[0].trace).toBeUndefined();
      expect(asked.slice(-2)).toEqual([[], []]);
    } finally {
      await w.close();
      await ref.dispose();
    }
  });

  it('a worker without --allow-trace refuses a traced step', async () => {
    const w = await bootWorker(workerConfig(writeModelDir('llama', 3), { backend: 'ort' }), 'grpc');
    try {
      const err = await w.client.step(step('s', [1, 2, 3], 0)).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).code).toBe(Status.FAILED_PRECONDITION);
      expect((err as ClientError).details).toMatch(/trace needs a worker started with --allow-trace/);
    } finally {
      await w.close();
    }
  });
});
