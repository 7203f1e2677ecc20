/*
 * The llm.worker.v1.Worker handlers: thin. Step maps the proto onto the ModelRunner (which
 * validates, applies copy-on-write copies, runs the backend and samples) and maps the result
 * back; runner errors keep their status code (INVALID_ARGUMENT / FAILED_PRECONDITION naming the
 * sequence and field, UNAVAILABLE when the MoE router is down). GetModelInfo reports the model and
 * the pool shape the kv-manager pool must match. The pool is registered with the kv-manager under
 * the worker id, when one is configured, and kept registered (kv-registration.ts); until then the
 * worker is not ready and refuses steps with UNAVAILABLE.
 *
 * What this is not: a scheduler. It never decides that a sequence is finished.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Readiness, ServerError, Status, toServerError, type ServiceImplementation } from '@llm/platform';
import { worker } from '@llm/proto';
import type { ModelRunner } from '@llm/model';
import { WorkerMetrics } from './attention-worker.metrics';
import { toStepInput, toStepResponse } from './step-mapping';
import { PoolRegistration, type KvManagerClient } from './kv-registration';

export const WORKER_ENGINE = Symbol('WORKER_ENGINE');
export const WORKER_KV_MANAGER = Symbol('WORKER_KV_MANAGER');

/** The static part of GetModelInfo (the pool shape and backend come from the runner). */
export type WorkerModelInfo = Omit<worker.GetModelInfoResponse, 'numBlocks' | 'blockSizeTokens' | 'backend' | 'maxBatchSequences' | 'maxBatchTokens'>;

/** The loaded model's engine and its description. */
export interface WorkerEngine {
  runner: ModelRunner;
  info: WorkerModelInfo;
}

@Injectable()
export class AttentionWorkerService
  implements ServiceImplementation<typeof worker.WorkerDefinition>, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger('attention-worker');
  readonly runner: ModelRunner;
  private readonly info: WorkerModelInfo;
  private readonly metrics: WorkerMetrics;

  constructor(
    @Inject(WORKER_ENGINE) engine: WorkerEngine,
    @Inject(WORKER_KV_MANAGER) private readonly kvManager: KvManagerClient | null,
  ) {
    this.runner = engine.runner;
    this.info = engine.info;
    this.metrics = new WorkerMetrics(engine.info.workerId, engine.runner.pool.numBlocks);
    const { numBlocks, blockSize } = engine.runner.pool;
    this.registration = kvManager ? new PoolRegistration(kvManager, engine.info.workerId, numBlocks, blockSize) : undefined;
    const reg = this.registration;
    this.readiness = new Readiness(
      reg ? [{ name: 'kv pool', check: async () => {
        if (!reg.registered) throw new Error(reg.problem ?? 'not registered');
      } }] : [],
      { component: 'attention-worker' },
    );
  }

  /** Ready when the model is loaded (it is, once this exists) and the pool is registered with the kv-manager. */
  readonly readiness: Readiness;
  private readonly registration: PoolRegistration | undefined;

  async onApplicationBootstrap(): Promise<void> {
    // Registration is retried in the background: until it succeeds the worker is not ready and refuses steps.
    void this.registration?.start();
    await this.readiness.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.registration?.stop();
    this.readiness.stop();
    await this.runner.dispose();
  }

  async step(request: worker.StepRequest): Promise<worker.StepResponse> {
    if (this.registration && !this.registration.registered) {
      throw new ServerError(Status.UNAVAILABLE, `worker ${this.info.workerId}: ${this.registration.problem ?? 'pool not registered'}`);
    }
    try {
      const out = await this.runner.step(toStepInput(request));
      this.metrics.stepOk(out, this.runner.numCachedSequences);
      this.metrics.kernels(this.runner.backend);
      return toStepResponse(out);
    } catch (err) {
      const e = toServerError(err);
      this.metrics.stepFailed(Status[e.code]);
      throw e;
    }
  }

  async getModelInfo(): Promise<worker.GetModelInfoResponse> {
    const { limits, pool, backend } = this.runner;
    return {
      ...this.info,
      maxPositionEmbeddings: limits.maxPositions, // the context this worker accepts (a sliding window lowers it)
      numBlocks: pool.numBlocks,
      blockSizeTokens: pool.blockSize,
      backend: backend.name,
      maxBatchSequences: limits.maxBatchSequences,
      maxBatchTokens: limits.maxBatchTokens,
    };
  }
}
