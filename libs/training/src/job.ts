/*
 * One training run end to end, as `llm train` (and a queued training job) performs it:
 * resolve the data (a synthetic task with its character vocabulary or a given tokenizer.json,
 * or a corpus file with a tokenizer.json), build or load the model, optionally resume the checkpoint in OUT, train
 * with progress reports and periodic checkpoints, export OUT as a Hugging Face model
 * directory, and for tasks report exact match on a held-out set.
 *
 * Not a CLI: flags are parsed and progress is drawn by the caller. Every bad input is an
 * Error whose message names the flag or file; nothing in OUT is written before all checks
 * have passed, and a NaN loss leaves OUT with only the last good checkpoint.
 */
import { loadTokenizerJson, type Tokenizer } from '@llm/tokenizer';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MatmulEngine } from './autograd/engine';
import { OrtEngine } from './autograd/ort-engine';
import { getTask } from './data/tasks';
import { CharVocab } from './data/char-vocab';
import { evalSet, exactMatch, type ExactMatchResult, expandTurns, TaskBatches, tokenizerCodec } from './data/task-data';
import { TokenWindows } from './data/windows';
import { exportModelDir, loadInitialModel } from './export';
import { type ModelConfig, trainConfig, type VocabInfo } from './model/config';
import { initParams, type ParamMap } from './model/params';
import { TrainableModel } from './model/trainable';
import { type BatchSource, Trainer } from './trainer';

export interface TrainJobSpec {
  arch?: string;
  sets?: string[];
  /** Start from this model directory instead of a random init. */
  init?: string;
  task?: string;
  corpus?: string;
  tokenizer?: string;
  steps: number;
  out: string;
  batchSize?: number;
  /** Window length for corpora (tasks use their own length). */
  seqLen?: number;
  lr?: number;
  minLr?: number;
  warmup?: number;
  optimizer?: 'adamw' | 'sgd';
  weightDecay?: number;
  clip?: number;
  labelSmoothing?: number;
  seed?: number;
  threads?: number;
  checkpointEvery?: number;
  resume?: boolean;
  evalExamples?: number;
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Matmul engine override (tests); default ONNX Runtime with `threads` threads. */
  engine?: MatmulEngine;
}

export interface TrainProgress {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

export interface TrainJobResult {
  outDir: string;
  config: ModelConfig;
  numParams: number;
  steps: number;
  finalLoss: number;
  seconds: number;
  tokensPerSecond: number;
  exactMatch: ExactMatchResult | null;
}

interface DataPlan {
  source: BatchSource;
  vocab: VocabInfo;
  tokenizerJson: unknown;
  /** Further end ids for generation_config.json, and tokenizer_config.json (chat tasks). */
  extraEosIds?: number[];
  tokenizerConfig?: Record<string, unknown>;
  T: number;
  meta: Record<string, string | number | boolean>;
  evaluate?: (model: TrainableModel) => Promise<ExactMatchResult>;
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return x;
}

function readTokenizer(file: string): { text: string; tok: Tokenizer } {
  if (!existsSync(file)) throw new Error(`--tokenizer ${file} does not exist`);
  const text = readFileSync(file, 'utf8');
  return { text, tok: loadTokenizerJson(text, file) };
}

/**
 * A task over its own character vocabulary, over its own tokenizer (chat tasks), or over
 * --tokenizer (e.g. byte-level, so every prompt encodes). Multi-turn tasks are evaluated per turn.
 */
function planTask(spec: TrainJobSpec, B: number, seed: number): DataPlan {
  const task = getTask(spec.task!);
  const own = task.tokenizer;
  const given = spec.tokenizer ? readTokenizer(spec.tokenizer) : own ? { text: JSON.stringify(own.build()), tok: null } : null;
  const tok = given ? (given.tok ?? loadTokenizerJson(given.text, `task ${task.name} tokenizer`)) : null;
  const chars = new CharVocab(task.alphabet);
  const source = spec.tokenizer ? `--tokenizer ${spec.tokenizer}` : `task ${task.name} tokenizer`;
  const data = new TaskBatches(task, B, seed, tok ? tokenizerCodec(tok, source, own?.eosToken) : chars);
  const n = spec.evalExamples ?? 200;
  const extraEosIds = (own?.extraEosTokens ?? []).map((t) => tok?.specialTokens.get(t)).filter((id): id is number => id !== undefined);
  return {
    source: data,
    vocab: { vocabSize: data.vocab.size, bosTokenId: null, eosTokenId: data.vocab.eosId },
    tokenizerJson: given ? given.text : chars.toTokenizerJson(),
    extraEosIds,
    tokenizerConfig: own?.tokenizerConfig,
    T: data.T,
    meta: { task: task.name, batchSize: B, seed },
    evaluate: (m) => exactMatch((p, k, e) => m.greedy(p, k, e), data.vocab, expandTurns(evalSet(task, n, seed + 7919), own?.eosToken ?? '')),
  };
}

function planCorpus(spec: TrainJobSpec, B: number, T: number): DataPlan {
  if (!spec.tokenizer) throw new Error('--corpus needs --tokenizer FILE (a tokenizer.json, e.g. from `llm train-tokenizer`)');
  if (!existsSync(spec.corpus!)) throw new Error(`--corpus ${spec.corpus} does not exist`);
  const { text: tokText, tok } = readTokenizer(spec.tokenizer);
  const ids = tok.encode(readFileSync(spec.corpus!, 'utf8'), { allowedSpecial: 'all' });
  const eos = tok.specialTokens.get('<|endoftext|>') ?? tok.specialTokens.get('</s>') ?? null;
  return {
    source: new TokenWindows(Int32Array.from(ids), B, T, `--corpus ${spec.corpus}`),
    vocab: { vocabSize: tok.vocabSize, bosTokenId: null, eosTokenId: eos },
    tokenizerJson: tokText,
    T,
    meta: { corpus: spec.corpus!, batchSize: B, seqLen: T },
  };
}

function checkOut(spec: TrainJobSpec, ckDir: string): void {
  if (existsSync(spec.out) && !statSync(spec.out).isDirectory()) throw new Error(`--out ${spec.out} is a file (expected a new or empty directory)`);
  const busy = existsSync(spec.out) && readdirSync(spec.out).length > 0;
  if (spec.resume && !existsSync(join(ckDir, 'checkpoint.json'))) {
    throw new Error(`--resume: ${ckDir} has no checkpoint.json (nothing to resume; drop --resume to start a new run)`);
  }
  if (busy && !spec.resume) {
    throw new Error(`--out ${spec.out} already exists and is not empty; pass --resume to continue its checkpoint, or choose a new directory`);
  }
}

async function buildModel(spec: TrainJobSpec, plan: DataPlan, seed: number): Promise<{ cfg: ModelConfig; params: ParamMap }> {
  if (!spec.init) {
    if (!spec.arch) throw new Error('--arch is required (llama, qwen2, mixtral or gpt2) unless --init DIR gives the model');
    const cfg = trainConfig(spec.arch, spec.sets ?? [], plan.vocab);
    return { cfg, params: initParams(cfg, seed, 'f32') };
  }
  if ((spec.sets ?? []).length > 0) throw new Error('--set cannot be combined with --init (the config comes from the --init directory)');
  const m = await loadInitialModel(spec.init);
  if (spec.arch && spec.arch !== m.config.arch) throw new Error(`--arch ${spec.arch} disagrees with --init ${spec.init}, which is ${m.config.arch}`);
  if (m.config.vocabSize !== plan.vocab.vocabSize) {
    throw new Error(`--init ${spec.init} has vocab_size ${m.config.vocabSize}, but the training tokenizer has ${plan.vocab.vocabSize} ids; train with the same tokenizer (or task)`);
  }
  return { cfg: m.config, params: m.params };
}

/** Runs a training job; see the file comment. */
export async function runTrainJob(spec: TrainJobSpec, onProgress?: (p: TrainProgress) => void): Promise<TrainJobResult> {
  if (!spec.out) throw new Error('--out DIR is required');
  if (!!spec.task === !!spec.corpus) throw new Error('give exactly one of --task NAME or --corpus FILE (with --tokenizer FILE)');
  const steps = positiveInt('--steps', spec.steps, 0);
  const seed = spec.seed ?? 0;
  const B = positiveInt('--batch-size', spec.batchSize, spec.task ? 32 : 8);
  const plan = spec.task ? planTask(spec, B, seed) : planCorpus(spec, B, positiveInt('--seq-len', spec.seqLen, 64));
  const ckDir = join(spec.out, 'checkpoint');
  checkOut(spec, ckDir);
  const { cfg, params } = await buildModel(spec, plan, seed);
  if (plan.T > cfg.maxPositions) throw new Error(`windows of ${plan.T} tokens exceed max_position_embeddings=${cfg.maxPositions}`);
  const engine = spec.engine ?? (await OrtEngine.create({ threads: spec.threads ?? 2 }));
  try {
    const model = new TrainableModel(cfg, params, engine);
    const lr = spec.lr ?? (spec.task ? 3e-3 : 1e-3);
    const trainer = new Trainer(model, plan.source, {
      steps,
      optimizer: spec.optimizer ?? 'adamw',
      schedule: { maxLr: lr, minLr: spec.minLr ?? lr / 10, warmupSteps: spec.warmup ?? Math.min(100, Math.ceil(steps / 10)), totalSteps: steps },
      weightDecay: spec.weightDecay,
      clipNorm: spec.clip ?? 1,
      loss: { labelSmoothing: spec.labelSmoothing ?? 0 },
      checkpointDir: ckDir,
      checkpointEvery: spec.checkpointEvery ?? Math.max(50, Math.ceil(steps / 10)),
      meta: { ...plan.meta, optimizer: spec.optimizer ?? 'adamw', init: spec.init ?? '' },
    });
    if (spec.resume) trainer.resume(ckDir);
    const t0 = performance.now();
    const startStep = trainer.step;
    let tokens = 0;
    let lastLoss = NaN;
    await trainer.run((info) => {
      tokens += info.tokens;
      lastLoss = info.loss;
      const secs = (performance.now() - t0) / 1e3;
      const perStep = secs / (info.step - startStep);
      onProgress?.({ step: info.step, steps, loss: info.loss, lr: info.lr, tokensPerSecond: tokens / secs, etaSeconds: perStep * (steps - info.step) });
    });
    const seconds = (performance.now() - t0) / 1e3;
    exportModelDir(spec.out, cfg, params, {
      tokenizerJson: plan.tokenizerJson,
      eosTokenId: plan.vocab.eosTokenId,
      extraEosTokenIds: plan.extraEosIds,
      tokenizerConfig: plan.tokenizerConfig,
      dtype: spec.dtype,
    });
    const em = plan.evaluate ? await plan.evaluate(model) : null;
    return { outDir: spec.out, config: cfg, numParams: model.numParams, steps: trainer.step, finalLoss: lastLoss, seconds, tokensPerSecond: seconds > 0 ? tokens / seconds : 0, exactMatch: em };
  } finally {
    if (!spec.engine && engine instanceof OrtEngine) await engine.dispose();
  }
}
