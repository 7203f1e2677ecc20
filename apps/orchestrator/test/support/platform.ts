/*
 * An in-test platform built ONLY from the pure libraries: a kv-manager implementation over
 * libs/kv's KvPools and a worker implementation over libs/model's ModelRunner (TS backend), both
 * behind libs/platform's in-process transport, plus the orchestrator under test wired to them.
 * The model is a tiny random llama written by initModelDir (with its byte-level BPE tokenizer).
 *
 * What it is not: the real apps/kv-manager or apps/attention-worker (the orchestrator may not
 * import other apps); the lead's end-to-end tests run those.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvPools } from '@llm/kv';
import { bytesPerBlock, createModelRunner, initModelDir, loadModelDir, type LoadedModel, type ModelRunner, type StepInput } from '@llm/model';
import { createInProcessClient, loadConfig, type Client, type ServiceImplementation } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { createOrchestrator, orchestratorConfigSchema, type Orchestrator, type OrchestratorConfig } from '../../src';

export const MODEL_OVERRIDES = { vocab_size: 384, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64, max_position_embeddings: 256 };

const modelDirs = new Map<number, string>();

/** A random llama model directory (cached per seed for the test process). */
export function modelDir(seed = 0): string {
  let dir = modelDirs.get(seed);
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'orch-model-'));
    initModelDir(dir, 'llama', { overrides: MODEL_OVERRIDES, seed });
    modelDirs.set(seed, dir);
  }
  return dir;
}

type KvImpl = ServiceImplementation<kv.KvManagerDefinition>;

/** llm.kv.v1.KvManager over KvPools (the subset the orchestrator calls, plus Stats). */
export function kvImplementation(pools: KvPools): KvImpl {
  return {
    async registerPool(req) {
      return { existed: pools.registerPool(req.poolId, { numBlocks: req.numBlocks, blockSize: req.blockSizeTokens }) };
    },
    async allocateSlots(req) {
      const out = pools.allocateSlots(
        req.poolId,
        req.sequences.map((s) => ({ seqId: s.seqId, newTokenIds: s.newTokenIds, salt: s.cacheSalt, numTokensToCompute: s.numTokensToCompute })),
        { owner: req.ownerId || undefined, commit: req.commitSeqIds },
      );
      return {
        sequences: out.map((a) => ({
          seqId: a.seqId,
          status: a.ok ? kv.AllocationStatus.ALLOCATION_STATUS_OK : kv.AllocationStatus.ALLOCATION_STATUS_OUT_OF_BLOCKS,
          blockIds: a.blockTable,
          numComputedTokens: a.numComputedTokens,
          numTokens: a.numTokens,
        })),
        copies: out.flatMap((a) => a.copies.map((c) => ({ srcBlockId: c.src, dstBlockId: c.dst }))),
      };
    },
    async free(req) {
      return { numBlocksReleased: pools.free(req.poolId, req.seqIds) };
    },
    async renewLease(req) {
      return { numSequencesExpiredTotal: pools.renewLease(req.ownerId, req.ttlMs) };
    },
  };
}

/** llm.worker.v1.Worker over a ModelRunner. */
export function workerImplementation(runner: ModelRunner, model: LoadedModel, workerId: string): ServiceImplementation<worker.WorkerDefinition> {
  return {
    async step(req) {
      const input: StepInput = {
        stepId: BigInt(req.stepId),
        sequences: req.sequences.map((s) => ({
          seqId: s.seqId,
          tokenIds: s.tokenIds,
          startPosition: s.startPosition,
          blockIds: s.blockIds,
          sample: s.sample,
          state: s.state && {
            params: { ...(s.state.params as worker.SamplingParams), logitBias: new Map(Object.entries(s.state.params?.logitBias ?? {}).map(([k, v]) => [Number(k), v])) },
            promptTokenIds: s.state.promptTokenIds,
            outputTokenIds: s.state.outputTokenIds,
          },
          appendedOutputTokenIds: s.appendedOutputTokenIds,
        })),
        copies: req.copies.map((c) => ({ src: c.srcBlockId, dst: c.dstBlockId })),
        releaseSeqIds: req.releaseSeqIds,
      };
      const out = await runner.step(input);
      return {
        outputs: out.outputs.map((o) => ({ seqId: o.seqId, sampled: o.sampled, tokenId: o.tokenId, logprob: o.logprob, topLogprobs: o.topLogprobs })),
        numTokens: out.numTokens,
        forwardNs: Number(out.forwardNs),
        stepNs: Number(out.stepNs),
      };
    },
    async getModelInfo() {
      const c = model.config;
      return {
        workerId, modelId: 'tiny-llama', architecture: c.architecture, vocabSize: c.vocabSize, maxPositionEmbeddings: c.maxPositions,
        numLayers: c.numLayers, hiddenSize: c.hiddenSize, numAttentionHeads: c.numHeads, numKeyValueHeads: c.numKvHeads,
        numBlocks: runner.pool.numBlocks, blockSizeTokens: runner.pool.blockSize, backend: 'ts', eosTokenIds: c.eosTokenIds,
        bosTokenId: c.bosTokenId ?? undefined, maxBatchSequences: runner.limits.maxBatchSequences, maxBatchTokens: runner.limits.maxBatchTokens,
      };
    },
  };
}

export interface TestWorker {
  runner: ModelRunner;
  client: Client<worker.WorkerDefinition>;
  workerId: string;
}

/** A worker engine with exactly `numBlocks` blocks, registered in `pools`. */
export async function startTestWorker(model: LoadedModel, pools: KvPools, workerId: string, numBlocks: number, blockSize: number): Promise<TestWorker> {
  const c = model.config;
  const per = bytesPerBlock({ blockSize, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim });
  const runner = await createModelRunner(model, { backend: 'ts', threads: 1, kvCacheBytes: per * numBlocks, blockSize, maxBatchSequences: 256, maxBatchTokens: 4096 });
  pools.registerPool(workerId, { numBlocks: runner.pool.numBlocks, blockSize });
  return { runner, client: createInProcessClient(worker.WorkerDefinition, workerImplementation(runner, model, workerId)), workerId };
}

export interface TestPlatformOptions {
  numBlocks?: number;
  blockSize?: number;
  config?: Partial<OrchestratorConfig>;
}

export interface TestPlatform {
  model: LoadedModel;
  pools: KvPools;
  worker: TestWorker;
  kvClient: Client<kv.KvManagerDefinition>;
  orch: Orchestrator;
  close(): Promise<void>;
}

export function testConfig(overrides: Partial<OrchestratorConfig>): OrchestratorConfig {
  return loadConfig(orchestratorConfigSchema, { argv: [], env: {}, overrides: { model: modelDir(), grpcPort: 0, httpPort: -1, ...overrides } });
}

/** Embedded platform: in-process kv + worker + orchestrator (direct intake). */
export async function startTestPlatform(opts: TestPlatformOptions = {}): Promise<TestPlatform> {
  const model = await loadModelDir(modelDir());
  const pools = new KvPools();
  const w = await startTestWorker(model, pools, 'worker-0', opts.numBlocks ?? 64, opts.blockSize ?? 4);
  const kvClient = createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools));
  const orch = await createOrchestrator(testConfig({ maxNumSeqs: 16, maxNumBatchedTokens: 64, ...opts.config }), { kv: kvClient, worker: w.client });
  return {
    model, pools, worker: w, kvClient, orch,
    async close() {
      await orch.close();
      await w.runner.dispose();
    },
  };
}

/** The pool holds no sequence and every block is free (cached ones included). */
export function expectPoolWhole(pools: KvPools, poolId = 'worker-0'): void {
  const s = pools.stats(poolId);
  expect({ numSequences: s.numSequences, numUsedBlocks: s.numUsedBlocks, numFreeBlocks: s.numFreeBlocks }).toEqual({ numSequences: 0, numUsedBlocks: 0, numFreeBlocks: s.numBlocks });
}
