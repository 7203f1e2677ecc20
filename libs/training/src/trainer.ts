/*
 * The training loop: batch -> loss -> backward -> clip -> optimiser step at the scheduled
 * learning rate, with progress reports (step, loss, tokens/s, ETA), periodic checkpoints,
 * and a hard stop on a non-finite loss or gradient (the update is not applied, so the
 * last checkpoint on disk is the last good state).
 *
 * Not distributed and not mixed precision: one process, float32 parameters, float64
 * optimiser moments.
 */
import { configToHf } from '@llm/model';
import { backward, zeroGrad } from './autograd/var';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import type { CrossEntropyOpts } from './loss/cross-entropy';
import type { Batch } from './model/loss';
import type { TrainableModel } from './model/trainable';
import { AdamW, clipGradNorm, type Optimizer, Sgd } from './optim/optimizers';
import { type LrSchedule, lrAt } from './optim/schedule';

/** Anything that yields batches and can save/restore its position. */
export interface BatchSource {
  next(): Batch;
  getState(): number;
  setState(s: number): void;
}

export interface TrainerOptions {
  steps: number;
  schedule: LrSchedule;
  optimizer: 'adamw' | 'sgd';
  weightDecay?: number;
  momentum?: number;
  /** Global gradient-norm clip (0 = off). */
  clipNorm?: number;
  loss?: CrossEntropyOpts;
  /** Where checkpoints go, and how often (steps); a final one is written at the end. */
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Recorded in checkpoints; a resume with different values is refused. */
  meta?: Record<string, string | number | boolean>;
}

export interface StepInfo {
  step: number; // 1-based count of completed steps
  loss: number;
  aux: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  seconds: number;
}

/** The loss or a gradient became NaN/Inf at `step`; nothing was applied for that step. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly lastCheckpointStep: number | null,
    what: string,
  ) {
    super(
      `${what} is not finite at step ${step}; stopped without applying it` +
        (lastCheckpointStep !== null ? ` (the last good checkpoint is from step ${lastCheckpointStep})` : ' (no checkpoint was written yet)') +
        '; lower the learning rate or enable gradient clipping',
    );
  }
}

export class Trainer {
  readonly optimizer: Optimizer;
  step = 0;
  lastCheckpointStep: number | null = null;

  constructor(
    readonly model: TrainableModel,
    readonly data: BatchSource,
    readonly opts: TrainerOptions,
  ) {
    const named = model.named();
    this.optimizer =
      opts.optimizer === 'sgd'
        ? new Sgd(named, { momentum: opts.momentum ?? 0.9, weightDecay: opts.weightDecay ?? 0 })
        : new AdamW(named, { weightDecay: opts.weightDecay ?? 0.01, beta2: 0.99 }); // β2 = 0.99 as nanoGPT uses for small models
  }

  /** One optimisation step. Throws NonFiniteLossError before touching the weights if anything is NaN/Inf. */
  async trainStep(): Promise<StepInfo> {
    const t0 = performance.now();
    const batch = this.data.next();
    const params = this.model.named().map(([, p]) => p);
    zeroGrad(params);
    const { loss, ce, aux } = await this.model.loss(batch, this.opts.loss);
    if (!Number.isFinite(loss.data[0])) throw new NonFiniteLossError(this.step + 1, this.lastCheckpointStep, 'the loss');
    await backward(loss);
    const gradNorm = clipGradNorm(params, this.opts.clipNorm ?? 1);
    if (!Number.isFinite(gradNorm)) throw new NonFiniteLossError(this.step + 1, this.lastCheckpointStep, 'the gradient norm');
    const lr = lrAt(this.opts.schedule, this.step);
    this.optimizer.step(lr);
    this.step++;
    return { step: this.step, loss: ce, aux, lr, gradNorm, tokens: batch.B * batch.T, seconds: (performance.now() - t0) / 1e3 };
  }

  /** Runs until opts.steps, checkpointing on the way; onStep sees every step. */
  async run(onStep?: (info: StepInfo) => void | Promise<void>): Promise<void> {
    const every = this.opts.checkpointEvery ?? 0;
    while (this.step < this.opts.steps) {
      const info = await this.trainStep();
      if (onStep) await onStep(info);
      if (this.opts.checkpointDir && every > 0 && this.step % every === 0) this.checkpoint();
    }
    if (this.opts.checkpointDir && this.lastCheckpointStep !== this.step) this.checkpoint();
  }

  checkpoint(dir = this.opts.checkpointDir): void {
    if (!dir) throw new Error('checkpoint: no directory given');
    saveCheckpoint(dir, {
      step: this.step,
      config: this.model.cfg,
      params: this.model.params,
      optimizer: this.optimizer.state(),
      dataState: this.data.getState(),
      meta: this.opts.meta ?? {},
    });
    this.lastCheckpointStep = this.step;
  }

  /**
   * Restores a checkpoint into this trainer's model (which must have the same config) and
   * optimiser, and the data position. A differing config or meta value is an error that
   * names the field; nothing is changed then.
   */
  resume(dir: string): void {
    const ck = loadCheckpoint(dir);
    assertSameConfig(configToHf(ck.config), configToHf(this.model.cfg), dir);
    for (const [k, v] of Object.entries(this.opts.meta ?? {})) {
      if (k in ck.meta && ck.meta[k] !== v) throw new Error(`checkpoint ${dir} was trained with ${k}=${ck.meta[k]}, but this run has ${k}=${v}; use the same flags or a new --out`);
    }
    if (ck.optimizer.kind !== this.optimizer.kind) throw new Error(`checkpoint ${dir} used optimizer ${ck.optimizer.kind}, but this run uses ${this.optimizer.kind}`);
    for (const [name, p] of this.model.params) {
      const src = ck.params.get(name);
      if (!src || src.size !== p.size) throw new Error(`checkpoint ${dir}: parameter ${name} is missing or has another shape`);
    }
    this.optimizer.load(ck.optimizer);
    for (const [name, p] of this.model.params) p.data.set(ck.params.get(name)!.data);
    this.data.setState(ck.dataState);
    this.step = ck.step;
    this.lastCheckpointStep = ck.step;
  }
}

/** Throws naming the first config field whose value differs. */
export function assertSameConfig(saved: Record<string, unknown>, current: Record<string, unknown>, where: string): void {
  for (const k of new Set([...Object.keys(saved), ...Object.keys(current)])) {
    if (JSON.stringify(saved[k]) !== JSON.stringify(current[k])) {
      throw new Error(`checkpoint ${where} has ${k}=${JSON.stringify(saved[k])}, but the flags give ${k}=${JSON.stringify(current[k])}; use the same --arch/--set flags or a new --out`);
    }
  }
}
