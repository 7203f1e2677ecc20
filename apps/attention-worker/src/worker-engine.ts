/*
 * Loads the worker's engine from its settings: the model directory (libs/model loader), the MoE
 * executor for MoE models (the router through the platform transport when one is configured,
 * else the library's in-process experts), the KV pool sized from --kv-cache-gib, and the backend
 * picked by --backend, and with --speculative the draft source (prompt lookup, or the draft model
 * of --draft-model). A model the worker cannot load fails start-up with FAILED_PRECONDITION
 * naming the directory and the reason.
 *
 * What this is not: the engine itself (libs/model's ModelRunner).
 */
import { createModelRunner, grammarEngineForModel, loadModelDir, RunnerError, type CreateRunnerOptions, type LoadedModel, type MoeExecutor, type QuantFormat } from '@llm/model';
import type { WorkerConfig } from './attention-worker.config';
import type { WorkerEngine, WorkerModelInfo } from './attention-worker.service';

const GIB = 1024 ** 3;

export async function loadWorkerEngine(config: WorkerConfig, routerMoe?: (hiddenSize: number) => MoeExecutor): Promise<WorkerEngine> {
  let model: LoadedModel;
  try {
    model = await loadModelDir(config.modelDir, { quantize: (config.quantize || undefined) as QuantFormat | undefined });
  } catch (err) {
    throw new RunnerError('FAILED_PRECONDITION', `cannot load model directory ${config.modelDir}: ${(err as Error).message}`);
  }
  return engineForModel(model, config, routerMoe);
}

/** The engine for an already loaded model (embedded mode and tests share a model this way). */
export async function engineForModel(
  model: LoadedModel,
  config: Pick<WorkerConfig, 'backend' | 'threads' | 'kvCacheGib' | 'blockSize' | 'maxBatchSequences' | 'maxBatchTokens' | 'workerId' | 'modelId'> & { allowTrace?: boolean; ortMainThread?: boolean; decodeKernel?: string } & Partial<Pick<WorkerConfig, 'speculative' | 'speculativeTokens' | 'draftModel' | 'draftBackend'>>,
  routerMoe?: (hiddenSize: number) => MoeExecutor,
): Promise<WorkerEngine> {
  const c = model.config;
  const moeExecutor = c.numExperts > 0 ? routerMoe?.(c.hiddenSize) : undefined; // default: in-process experts
  const speculative = await speculativeOf(config);
  try {
    const runner = await createModelRunner(model, {
      backend: config.backend as 'ts' | 'ort',
      threads: config.threads,
      kvCacheBytes: config.kvCacheGib * GIB,
      blockSize: config.blockSize,
      maxBatchSequences: config.maxBatchSequences,
      maxBatchTokens: config.maxBatchTokens,
      moeExecutor,
      grammar: await grammarEngineForModel(model),
      traceable: config.allowTrace ?? false,
      speculative,
      ortOnMainThread: config.ortMainThread ? true : undefined, // default: by model size (createModelRunner)
      decodeKernel: config.decodeKernel === 'ort' ? 'ort' : 'wasm',
    });
    const info = modelInfoOf(model, config.workerId, config.modelId || basenameOf(model.dir));
    if (speculative) Object.assign(info, { speculativeMethod: speculative.method, numSpeculativeTokens: config.speculativeTokens ?? 4 });
    return { runner, info };
  } catch (err) {
    if (err instanceof RunnerError) throw err;
    throw new RunnerError('FAILED_PRECONDITION', `cannot serve model ${model.dir} with backend ${config.backend}: ${(err as Error).message}`);
  }
}

export function modelInfoOf(model: LoadedModel, workerId: string, modelId: string): WorkerModelInfo {
  const c = model.config;
  return {
    workerId,
    modelId,
    architecture: c.architecture,
    vocabSize: c.vocabSize,
    maxPositionEmbeddings: c.maxPositions,
    numLayers: c.numLayers,
    hiddenSize: c.hiddenSize,
    numAttentionHeads: c.numHeads,
    numKeyValueHeads: c.numKvHeads,
    // config.json's and generation_config.json's end ids (transformers stops on either)
    eosTokenIds: [...new Set([...c.eosTokenIds, ...model.generation.eosTokenIds])],
    bosTokenId: c.bosTokenId ?? model.generation.bosTokenId ?? undefined,
    supportsGrammar: model.tokenizerPath !== null,
    speculativeMethod: '',
    numSpeculativeTokens: 0,
  };
}

/** The runner's draft source from --speculative / --draft-model (undefined: off). */
async function speculativeOf(config: Partial<Pick<WorkerConfig, 'speculative' | 'draftModel' | 'draftBackend'>>): Promise<CreateRunnerOptions['speculative']> {
  if (!config.speculative) return undefined;
  if (config.speculative === 'ngram') return { method: 'ngram' };
  if (!config.draftModel) throw new RunnerError('FAILED_PRECONDITION', '--speculative draft needs --draft-model DIR (LLM_DRAFT_MODEL): a small model with the same tokenizer');
  try {
    return { method: 'draft', draftModel: await loadModelDir(config.draftModel), backend: (config.draftBackend || undefined) as 'ts' | 'ort' | undefined };
  } catch (err) {
    throw new RunnerError('FAILED_PRECONDITION', `cannot load draft model directory ${config.draftModel}: ${(err as Error).message}`);
  }
}

function basenameOf(dir: string): string {
  return dir.replace(/\/+$/, '').split('/').pop() || dir;
}
