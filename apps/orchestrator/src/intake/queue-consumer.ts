/*
 * QueueConsumer: the distributed scheduler role. It takes its worker's lease in Redis (and keeps
 * its kv-manager lease alive on the same timer), then consumes `generate` jobs with a BullMQ
 * Worker: each job's processor reads what the request's stream already holds (tokens produced by
 * a scheduler that died), feeds the request into the local scheduler loop resuming from there,
 * appends every new delta to the stream (the deltas of all requests that one step produced go to
 * Redis as one pipeline: stream-batch-writer.ts), and resolves when the request finishes. Counter-based
 * sampling makes a resumed sample draw exactly the tokens the dead scheduler would have.
 *
 * A scheduler that dies stops renewing its job locks: BullMQ's stalled-job check re-delivers the
 * job to another scheduler. Its kv-manager lease expires and the kv-manager frees its blocks.
 * A request whose client already left (cancel key set by the api) is skipped when its job comes
 * up; one that the scheduler gave up on because a dependency stayed down is not retried (the
 * failure is written to its stream; the client sees UNAVAILABLE). drain() stops taking jobs and
 * waits for the ones in flight (graceful shutdown).
 * What it is not: the api side (queue-intake.ts).
 */
import { createLogger, createRedisConnection, createWorker, extractTrace, observeJobWait, observeQueueWorker, SpanKind, Status, UnrecoverableError, withSpan, type Job, type Worker } from '@llm/platform';
import { inference } from '@llm/proto';
import type { Redis } from 'ioredis';
import { ServerError } from 'nice-grpc-common';
import { finishReasonOf, Generation, type ResumeState } from '../api/generation';
import type { ModelFacts } from '../api/model-facts';
import type { Scheduler } from '../scheduler/scheduler';
import { DependencyTimeoutError } from '../scheduler/step-errors';
import type { QueueJobData } from './queue-intake';
import { cancelChannel, cancelKey, decodeDelta, deltaStreamKey, DELTA_STREAM_TTL_S, encodeDelta, GENERATE_QUEUE, schedulersKey, workerLeaseKey, type StreamFailure } from './redis-keys';
import { StreamBatchWriter } from './stream-batch-writer';
import { WorkerLease } from './worker-lease';

export interface QueueConsumerOptions {
  redisUrl: string;
  prefix: string;
  scheduler: Scheduler;
  facts: ModelFacts;
  poolId: string;
  /** Requests one scheduler works on at once (its max_num_seqs is a good value). */
  concurrency: number;
  /** Lease length for the worker lease, the kv-manager lease and BullMQ job locks. */
  leaseTtlMs: number;
  /** How often BullMQ looks for stalled jobs (a dead scheduler's). */
  stalledIntervalMs: number;
  /** RenewLease at the kv-manager. */
  renewKvLease: (ttlMs: number) => Promise<void>;
  onError?: (err: unknown) => void;
  /** The worker lease's holder id (default: the scheduler's owner id); a restart with the same id takes its lease back at once. */
  leaseHolderId?: string;
}

export class QueueConsumer {
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly deltas: StreamBatchWriter;
  private readonly lease: WorkerLease;
  private worker: Worker<QueueJobData> | undefined;
  private readonly active = new Map<string, Generation>();
  private readonly stopping = new AbortController();
  private readonly log = createLogger('scheduler');
  private kvLeaseFailing = false;
  /** Why this scheduler is not consuming yet (readiness), or undefined once it holds its worker's lease. */
  leaseProblem: string | undefined = 'waiting for the worker lease';

  constructor(private readonly opts: QueueConsumerOptions) {
    this.redis = createRedisConnection(opts.redisUrl);
    this.sub = createRedisConnection(opts.redisUrl);
    this.deltas = new StreamBatchWriter(this.redis, DELTA_STREAM_TTL_S);
    const key = workerLeaseKey(opts.prefix, opts.poolId);
    this.lease = new WorkerLease({
      redis: this.redis,
      key,
      ownerId: opts.leaseHolderId ?? opts.scheduler.ownerId,
      ttlMs: opts.leaseTtlMs,
      heartbeatKey: schedulersKey(opts.prefix),
      onRenew: () => this.renewKvLease(),
      onLost: () => {
        // Expired while this process stalled, or Redis restarted without it: stop, then take it back when free.
        this.leaseProblem = `lost the worker lease ${key}`;
        void this.stopConsuming()
          .then(() => (this.stopping.signal.aborted ? undefined : this.consumeWithLease()))
          .catch(() => undefined);
      },
      onWaiting: (holder) => (this.leaseProblem = `waiting for the worker lease ${key}${holder ? ` (held by ${holder})` : ''}`),
      onError: () => undefined, // a Redis outage is logged once by the connection's tracker
    });
  }

  /** RenewLease at the kv-manager; a failure is logged when it starts and when it ends, not every period. */
  private async renewKvLease(): Promise<void> {
    try {
      await this.opts.renewKvLease(this.opts.leaseTtlMs);
      if (this.kvLeaseFailing) this.log.info('kv-manager lease renewed again');
      this.kvLeaseFailing = false;
    } catch (err) {
      if (!this.kvLeaseFailing) this.log.warn(`cannot renew the kv-manager lease: ${(err as { details?: string; message?: string }).details ?? (err as Error).message}`);
      this.kvLeaseFailing = true;
    }
  }

  /** Waits for the worker's lease, then starts consuming. */
  async start(): Promise<void> {
    await this.sub.subscribe(cancelChannel(this.opts.prefix));
    this.sub.on('message', (_channel: string, requestId: string) => this.active.get(requestId)?.cancel());
    await this.consumeWithLease();
  }

  private async consumeWithLease(): Promise<void> {
    await this.lease.acquire(this.stopping.signal);
    this.leaseProblem = undefined;
    this.worker = createWorker<QueueJobData>(GENERATE_QUEUE, (job) => this.process(job), {
      redisUrl: this.opts.redisUrl,
      prefix: this.opts.prefix,
      concurrency: this.opts.concurrency,
      lockDuration: this.opts.leaseTtlMs,
      stalledInterval: this.opts.stalledIntervalMs,
      maxStalledCount: 3,
    });
    observeQueueWorker(GENERATE_QUEUE, this.worker);
  }

  /** One job, inside a consumer span that continues the api's trace (when tracing is on and the job carries one). */
  private process(job: Job<QueueJobData>): Promise<void> {
    observeJobWait(GENERATE_QUEUE, job);
    const attributes = { 'messaging.system': 'bullmq', 'messaging.destination.name': GENERATE_QUEUE, 'llm.request_id': job.data.request.clientRequestId || job.data.request.requestId };
    return withSpan(`${GENERATE_QUEUE} process`, { kind: SpanKind.CONSUMER, parent: extractTrace(job.data.trace), attributes }, () => this.run(job));
  }

  private async run(job: Job<QueueJobData>): Promise<void> {
    const request = job.data.request;
    const key = deltaStreamKey(this.opts.prefix, request.requestId);
    if (await this.redis.exists(cancelKey(this.opts.prefix, request.requestId))) return; // the client left before it started
    const resume = await this.readProduced(key, request.n);
    if (resume === 'done') return;
    const generation = new Generation(request, this.opts.facts, this.opts.scheduler, resume);
    this.active.set(request.requestId, generation);
    try {
      generation.start();
      for await (const msg of generation.responses()) {
        await this.deltas.append(key, encodeDelta(msg));
      }
    } catch (err) {
      const attempts = job.opts.attempts ?? 1;
      // The scheduler held it while a dependency was down and gave up: retrying would hold it again.
      const final = err instanceof DependencyTimeoutError;
      if (final || job.attemptsMade + 1 >= attempts) await this.writeFailure(key, err);
      throw final ? new UnrecoverableError((err as Error).message) : err;
    } finally {
      this.active.delete(request.requestId);
    }
  }

  /** Tokens already in the stream per sample (de-duplicated by offset), or 'done' if the request finished. */
  private async readProduced(key: string, n: number): Promise<ResumeState | 'done'> {
    const entries = await this.redis.xrange(key, '-', '+');
    const state: ResumeState = { outputIds: Array.from({ length: n }, () => []), finished: new Array(n).fill(undefined) };
    for (const [, fields] of entries) {
      const msg = decodeDelta(fields[1]);
      if ('error' in msg) return 'done';
      if (msg.usage) return 'done';
      const out = state.outputIds[msg.index];
      if (msg.tokenOffset !== out.length) continue;
      out.push(...msg.tokenIds);
      if (msg.finishReason !== inference.FinishReason.FINISH_REASON_UNSPECIFIED) state.finished[msg.index] = finishReasonOf(msg.finishReason);
    }
    return state;
  }

  private async writeFailure(key: string, err: unknown): Promise<void> {
    const code = err instanceof ServerError ? err.code : Status.UNAVAILABLE;
    const message = err instanceof ServerError ? err.details : err instanceof Error ? err.message : String(err);
    const failure: StreamFailure = { error: { code, message } };
    await this.redis.xadd(key, '*', 'd', JSON.stringify(failure)).catch(() => undefined);
  }

  /** Stops taking jobs; jobs in flight are left to BullMQ's stalled-job recovery (another scheduler resumes them). */
  private async stopConsuming(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.close(true);
  }

  /** Whether the api should count this scheduler as live (its worker and kv-manager answer). */
  setLive(live: boolean): void {
    void this.lease.setLive(live);
  }

  /** Graceful shutdown: takes no new jobs and waits (up to graceMs) for the ones in flight to finish. */
  async drain(graceMs: number): Promise<void> {
    const w = this.worker;
    if (!w) return;
    await w.pause(true).catch(() => undefined); // stop fetching; do not wait here
    const until = Date.now() + graceMs;
    while (this.active.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }

  /** Stops consuming and gives the worker's lease back; the caller then closes the scheduler. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.stopConsuming();
    await this.lease.release();
    await this.sub.quit().catch(() => undefined);
  }

  /** Closes the Redis connection used for stream writes (after the scheduler has stopped). */
  async disconnect(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
