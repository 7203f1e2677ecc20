/*
 * An in-test platform built ONLY from the pure libraries: a kv-manager implementation over
 * libs/kv's KvPools and a worker implementation over libs/model's ModelRunner (TS backend; both
 * in bench/services.ts, which the benchmark shares), behind libs/platform's in-process transport, plus the orchestrator under test wired to them.
 * The model is a tiny random llama written by initModelDir (with its byte-level BPE tokenizer).
 *
 * What it is not: the real apps/kv-manager or apps/attention-worker (the orchestrator may not
 * import other apps); apps/cli/test/serve.spec.ts runs those end to end.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvPools } from '@llm/kv';
import { bytesPerBlock, createModelRunner, grammarEngineForModel, initModelDir, loadModelDir, type Arch, type LoadedModel, type ModelRunner } from '@llm/model';
import { createInProcessClient, loadConfig, type Client } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { createOrchestrator, orchestratorConfigSchema, type Orchestrator, type OrchestratorConfig } from '../../src';
import { kvImplementation, workerImplementation } from '../../bench/services';

export { kvImplementation, workerImplementation };

export const MODEL_OVERRIDES = { vocab_size: 384, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64, max_position_embeddings: 256 };

const modelDirs = new Map<string, string>();

/** A random model directory of `arch` (llama by default), cached per (seed, arch, overrides) for the test process. */
export function modelDir(seed = 0, arch: Arch = 'llama', overrides: Record<string, unknown> = {}): string {
  const key = `${seed}/${arch}/${JSON.stringify(overrides)}`;
  let dir = modelDirs.get(key);
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'orch-model-'));
    initModelDir(dir, arch, { overrides: { ...MODEL_OVERRIDES, ...(arch === 'mixtral' ? { num_local_experts: 4, num_experts_per_tok: 2 } : {}), ...overrides }, seed });
    modelDirs.set(key, dir);
  }
  return dir;
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
  const runner = await createModelRunner(model, { backend: 'ts', threads: 1, kvCacheBytes: per * numBlocks, blockSize, maxBatchSequences: 256, maxBatchTokens: 4096, grammar: await grammarEngineForModel(model) });
  pools.registerPool(workerId, { numBlocks: runner.pool.numBlocks, blockSize });
  return { runner, client: createInProcessClient(worker.WorkerDefinition, workerImplementation(runner, model, workerId)), workerId };
}

export interface TestPlatformOptions {
  numBlocks?: number;
  blockSize?: number;
  config?: Partial<OrchestratorConfig>;
  /** Model directory (default: modelDir()). */
  model?: string;
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
  const dir = opts.model ?? modelDir();
  const model = await loadModelDir(dir);
  const pools = new KvPools();
  const w = await startTestWorker(model, pools, 'worker-0', opts.numBlocks ?? 64, opts.blockSize ?? 4);
  const kvClient = createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools));
  const orch = await createOrchestrator(testConfig({ maxNumSeqs: 16, maxNumBatchedTokens: 64, model: dir, ...opts.config }), { kv: kvClient, worker: w.client });
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
