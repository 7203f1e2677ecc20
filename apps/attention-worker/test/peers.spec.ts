/*
 * The worker with its peers over real gRPC servers on 127.0.0.1:
 * - MoE layers of a Mixtral directory go to a Router service (here a Router whose Dispatch runs the
 *   library's reference experts on the decoded tensor), over gRPC or through the in-process client
 *   of embedded mode, and generation still equals the reference;
 *   a router that is down fails the step with UNAVAILABLE after the deadline, never a hang;
 * - at start-up the worker registers its pool (num_blocks, block_size) with the kv-manager under its id.
 */
import { ClientError, Status } from 'nice-grpc';
import { startTestGrpcServer } from '@llm/testing';
import { connectGrpc, createInProcessClient, type RunningGrpcServer } from '@llm/platform';
import { kv, router } from '@llm/proto';
import { createRng } from '@llm/tensor';
import { loadModelDir, ReferenceMoeExecutor, Transformer } from '@llm/model';
import { decodeF32 } from '../src';
import { bootWorker, referenceGreedy, workerConfig, writeModelDir } from './harness';
import { TestScheduler, unevenChunks } from './test-scheduler';

describe('attention worker with a router and a kv-manager over gRPC', () => {
  const dir = writeModelDir('mixtral', 7);
  const dispatched: number[] = [];
  const registered: kv.RegisterPoolRequest[] = [];
  let routerServer: RunningGrpcServer;
  let kvServer: RunningGrpcServer;
  let routerImpl: { dispatch(req: router.DispatchRequest): Promise<router.DispatchResponse> };

  beforeAll(async () => {
    const model = await loadModelDir(dir);
    const experts = new ReferenceMoeExecutor(model.config, model.weights);
    const C = model.config.hiddenSize;
    routerImpl = {
      async dispatch(req: router.DispatchRequest): Promise<router.DispatchResponse> {
        const T = req.hidden?.shape[0] ?? 0;
        const hidden = decodeF32(req.hidden, [T, C], 'test router input');
        dispatched.push(req.layerIndex);
        const out = await experts.run(req.layerIndex, hidden, T);
        const data = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
        return { output: { dtype: router.DType.D_TYPE_F32, shape: [T, C], data }, numDroppedAssignments: 0, computeNs: 0, routing: [] };
      },
    };
    routerServer = await startTestGrpcServer({ definition: router.RouterDefinition, implementation: routerImpl });
    kvServer = await startTestGrpcServer({
      definition: kv.KvManagerDefinition,
      implementation: {
        async registerPool(req: kv.RegisterPoolRequest): Promise<kv.RegisterPoolResponse> {
          registered.push(req);
          return { existed: false };
        },
      },
    });
  });
  afterAll(async () => {
    await routerServer.close();
    await kvServer.close();
  });

  it('runs MoE layers through the router, generates the reference tokens, and registers its pool', async () => {
    const config = workerConfig(dir, { workerId: 'w-moe', routerAddress: routerServer.address, kvManagerAddress: kvServer.address });
    const w = await bootWorker(config, 'grpc');
    try {
      const info = await w.client.getModelInfo({});
      expect(registered).toEqual([{ poolId: 'w-moe', numBlocks: info.numBlocks, blockSizeTokens: 4 }]);
      const model = await loadModelDir(dir);
      const p = Array.from({ length: 9 }, (_, i) => (i * 71 + 3) % 500);
      const want = await referenceGreedy(new Transformer(model.config, model.weights), p, 5);
      expect(want.minMargin).toBeGreaterThan(1e-4);
      const got = await new TestScheduler(w.client, 4, info.numBlocks, createRng(4).next).generate([{ id: 'm', prompt: p, chunks: unevenChunks(9), maxTokens: 5 }]);
      expect(got.get('m')?.tokens).toEqual(want.tokens);
      // every step sends each MoE layer once: layers 0 and 1 of the tiny Mixtral
      expect(new Set(dispatched)).toEqual(new Set([0, 1]));
    } finally {
      await w.close();
    }
  });

  it('runs MoE layers through an in-process router client (embedded mode) with the same tokens', async () => {
    const client = createInProcessClient(router.RouterDefinition, routerImpl);
    const w = await bootWorker(workerConfig(dir), 'in-process', { router: client });
    try {
      const model = await loadModelDir(dir);
      const p = Array.from({ length: 7 }, (_, i) => (i * 37 + 9) % 500);
      const want = await referenceGreedy(new Transformer(model.config, model.weights), p, 4);
      expect(want.minMargin).toBeGreaterThan(1e-4);
      const before = dispatched.length;
      const info = await w.client.getModelInfo({});
      const got = await new TestScheduler(w.client, 4, info.numBlocks, createRng(6).next).generate([{ id: 'e', prompt: p, chunks: unevenChunks(7), maxTokens: 4 }]);
      expect(got.get('e')?.tokens).toEqual(want.tokens);
      expect(dispatched.length).toBeGreaterThan(before);
    } finally {
      await w.close();
    }
  });

  it('fails the step with UNAVAILABLE when the router is down', async () => {
    const down = await startTestGrpcServer(); // a free port with nothing serving Router on it after close
    const address = down.address;
    await down.close();
    const conn = connectGrpc(router.RouterDefinition, address, { deadlineMs: 2000 });
    const w = await bootWorker(workerConfig(dir), 'grpc', { router: conn.client });
    try {
      const err = await w.client
        .step({
          sequences: [{
            seqId: 's', tokenIds: [1, 2], startPosition: 0, blockIds: [1], sample: true, appendedOutputTokenIds: [],
            state: { params: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: 0, sampleIndex: 0, numTopLogprobs: 0 }, promptTokenIds: [1, 2], outputTokenIds: [] },
          }],
        })
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect([Status.UNAVAILABLE]).toContain((err as ClientError).code);
    } finally {
      conn.close();
      await w.close();
    }
  });
});
