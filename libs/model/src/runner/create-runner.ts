/*
 * Builds a worker engine from a loaded model: the KV pool sized from a byte budget, the step
 * backend (`ts`: TypeScript kernels + paged flash attention; `ort`: the ONNX Runtime graph), and
 * the ModelRunner over both.
 *
 * With speculative decoding on, the runner gets its Speculator: prompt lookup, or a draft model
 * (same vocabulary) on the same backend kind with a pool mirroring the target's blocks.
 *
 * What this is not: model loading (loadModelDir) or the choice of MoE transport (the caller
 * passes an executor, e.g. the router service through the platform transport; without one the
 * library's in-process reference experts run).
 */
import type { GrammarEngine } from '@llm/grammar';
import type { ModelConfig } from '../config';
import type { ModelWeights } from '../weights';
import { decoderFromLoaded, OrtBackend } from '../onnx';
import { WasmDecodeBackend, WasmDecoder, wasmDecodeUnsupported } from '../wasm-decode';
import { ReferenceMoeExecutor } from '../transformer/moe';
import { createKvPool, numBlocksForBudget } from './kv-pool';
import { ModelRunner } from './model-runner';
import { TsBackend, type MoeExecutor } from './ts-backend';
import { tsDecoderFromModel } from './ts-decoder';
import type { StepBackend } from './types';
import { DraftModelSpeculator } from '../speculative/draft-model';
import { NgramSpeculator, type Speculator } from '../speculative/speculator';

export type BackendKind = 'ts' | 'ort';

/** What the engine needs of a model: a LoadedModel, or initRandomModel's { config, weights }. */
export interface RunnerModel {
  config: ModelConfig;
  weights: ModelWeights;
}

export interface CreateRunnerOptions {
  backend: BackendKind;
  threads: number; // intra-op threads of the ORT sessions
  kvCacheBytes: number; // K and V of every layer
  blockSize: number; // tokens per block
  maxBatchSequences: number;
  maxBatchTokens: number;
  moeExecutor?: MoeExecutor; // MoE models: default the library's in-process reference experts
  grammar?: GrammarEngine; // constrained decoding over the model's vocabulary (grammarEngineForModel)
  traceable?: boolean; // internals trace on the ORT backend: also open the traced graphs (the TS backend always can)
  speculative?: { method: 'ngram' } | { method: 'draft'; draftModel: RunnerModel; backend?: BackendKind; minDraftProb?: number }; // draft source (absent: off); the draft's backend defaults to the target's
  /**
   * ORT backend: true runs the sessions on the event loop's thread (the old path), false on worker
   * threads; default (undefined): worker threads for models of at least OFF_THREAD_MIN_PARAMS
   * parameters, whose steps are long enough to stall the loop, the loop's thread for smaller ones,
   * whose steps take about as long as the thread hand-off itself.
   */
  ortOnMainThread?: boolean;
  /**
   * Single-sequence decode steps: 'wasm' (default) runs them on the platform's own kernels
   * (WasmDecodeBackend) when the ORT backend runs off the event loop and the decoder supports the
   * model; 'ort' keeps every step on ONNX Runtime.
   */
  decodeKernel?: 'wasm' | 'ort';
}

/** Below this many parameters (64 MB of F32 weights) a step is short enough to run on the loop's thread. */
export const OFF_THREAD_MIN_PARAMS = 16_000_000;

/** Parameters of the linear layers and the embedding: L (C (NH + 2 NKV) HS + NH HS C + 3 C I) + V C (an MoE layer counts its experts). */
export function approxParams(c: ModelConfig): number {
  const attn = c.hiddenSize * (c.numHeads + 2 * c.numKvHeads) * c.headDim + c.numHeads * c.headDim * c.hiddenSize;
  const ffn = 3 * c.hiddenSize * c.intermediateSize * Math.max(1, c.numExperts);
  return c.numLayers * (attn + ffn) + c.vocabSize * c.hiddenSize;
}

/** The backend of `kind` for a model; MoE layers run on `moeExecutor`, by default in-process reference experts. */
export async function createStepBackend(model: RunnerModel, kind: BackendKind, threads: number, moeExecutor?: MoeExecutor, traceable = false, offThread = false, wasmDecode = false): Promise<StepBackend> {
  if (model.config.numExperts > 0 && !moeExecutor) moeExecutor = new ReferenceMoeExecutor(model.config, model.weights);
  if (kind === 'ts') return new TsBackend(tsDecoderFromModel(model.config, model.weights), moeExecutor);
  if (kind === 'ort') {
    const ort = await OrtBackend.create(model, { threads, moeExecutor, traceable, offThread });
    return wasmDecode ? withWasmDecode(model, ort, threads) : ort;
  }
  throw new Error(`unknown backend "${kind as string}" (expected ts or ort)`);
}

/**
 * `ort` with single-sequence decode steps on the WasmDecoder, or `ort` itself when the decoder
 * does not support the model (not llama-family, MoE) or cannot hold it (one line on stderr).
 */
export async function withWasmDecode(model: RunnerModel, ort: OrtBackend, threads: number, opts: { relaxedSimd?: boolean; adaptive?: boolean } = {}): Promise<StepBackend> {
  const { spec, weights } = decoderFromLoaded(model);
  if (wasmDecodeUnsupported(spec, weights)) return ort;
  try {
    return new WasmDecodeBackend(ort, await WasmDecoder.create(spec, weights, threads, { relaxedSimd: opts.relaxedSimd }), weights.embed, { adaptive: opts.adaptive });
  } catch (e) {
    process.stderr.write(`wasm decode off, every step runs on ONNX Runtime: ${(e as Error).message}\n`);
    return ort;
  }
}

export async function createModelRunner(model: RunnerModel, opts: CreateRunnerOptions): Promise<ModelRunner> {
  const c = model.config;
  const shape = { blockSize: opts.blockSize, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim };
  const pool = createKvPool({ numBlocks: numBlocksForBudget(opts.kvCacheBytes, shape), ...shape });
  const offThread = !(opts.ortOnMainThread ?? approxParams(c) < OFF_THREAD_MIN_PARAMS);
  const backend = await createStepBackend(model, opts.backend, opts.threads, opts.moeExecutor, opts.traceable, offThread, offThread && (opts.decodeKernel ?? 'wasm') === 'wasm');
  if (backend instanceof WasmDecodeBackend) await backend.bindPool(pool);
  const speculator = opts.speculative ? await createSpeculator(model, opts.speculative, opts.backend, opts.threads, pool) : undefined;
  return new ModelRunner({
    speculator,
    backend,
    pool,
    vocabSize: c.vocabSize,
    // NOTE: sliding-window attention is not implemented, so a context past the window is refused
    // like one past the position limit (as the reference forward refuses it).
    maxPositions: c.slidingWindow !== null ? Math.min(c.maxPositions, c.slidingWindow) : c.maxPositions,
    maxBatchSequences: opts.maxBatchSequences,
    maxBatchTokens: opts.maxBatchTokens,
    grammar: opts.grammar,
    numHeads: c.numHeads,
  });
}

/** The draft source of `spec`; a draft model must share the target's vocabulary. */
export async function createSpeculator(model: RunnerModel, spec: NonNullable<CreateRunnerOptions['speculative']>, kind: BackendKind, threads: number, pool: { numBlocks: number; blockSize: number }): Promise<Speculator> {
  if (spec.method === 'ngram') return new NgramSpeculator();
  const d = spec.draftModel.config;
  if (d.vocabSize !== model.config.vocabSize) {
    throw new Error(`the draft model's vocabulary (${d.vocabSize} tokens) differs from the model's (${model.config.vocabSize}); a draft model must share the tokenizer`);
  }
  if (d.numExperts > 0) throw new Error('a draft model must be dense (no mixture-of-experts layers)');
  const backend = await createStepBackend(spec.draftModel, spec.backend ?? kind, threads);
  return new DraftModelSpeculator(backend, { vocabSize: d.vocabSize, numLayers: d.numLayers, numKvHeads: d.numKvHeads, headDim: d.headDim }, pool, spec.minDraftProb ?? 0);
}
