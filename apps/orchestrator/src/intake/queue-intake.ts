/*
 * QueueIntake: the distributed api role's intake. Each request becomes one BullMQ job on the
 * `generate` queue (job id = request id), with bounded admission: when waiting + active jobs reach
 * max_queued_requests the request is refused at once with RESOURCE_EXHAUSTED (HTTP 429). The
 * client's stream is relayed from the request's Redis stream, which schedulers append to (every
 * request of this process is read over one blocking connection: stream-fan-in.ts); entries
 * are de-duplicated by (sample index, token offset), so a re-delivered request that rewrites a
 * delta never shows the client a duplicate, and gaps cannot occur because a scheduler resumes from
 * exactly the tokens already in the stream. A client that leaves (disconnect, cancel, deadline)
 * publishes a cancel, which the scheduler running the request acts on within a step, and sets a
 * cancel key, so a scheduler that takes the job later skips it; a job still waiting is removed.
 *
 * While Redis is unreachable new requests are refused at once with UNAVAILABLE; while Redis or
 * every scheduler is unreachable (`outage`), requests in flight and queued wait for the outage to
 * end for up to dependencyWaitMs, then fail with UNAVAILABLE: none waits without bound.
 *
 * What it is not: a scheduler (queue-consumer.ts) or exactly-once admission (the count and the
 * add are two calls, so a burst may overshoot the bound by the number of concurrent adds).
 */
import { createQueue, createRedisConnection, injectTrace, redisState, resourceExhausted, SpanKind, unavailable, watchRedis, withSpan, type Queue } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { Redis } from 'ioredis';
import { ServerError } from 'nice-grpc-common';
import type { NormalizedRequest } from '../api/params';
import { AsyncQueue } from '../api/async-queue';
import type { Intake } from './intake';
import { cancelChannel, cancelKey, decodeDelta, deltaStreamKey, DELTA_STREAM_TTL_S, GENERATE_QUEUE } from './redis-keys';
import { StreamFanIn } from './stream-fan-in';

/** A request whose stream stays quiet this long has its job looked up (was it lost?), and again as often. */
const QUIET_CHECK_MS = 5000;

export interface QueueJobData {
  request: NormalizedRequest;
  /** W3C trace context of the enqueue (traceparent, tracestate, baggage), when tracing is on. */
  trace?: Record<string, string>;
}

export interface QueueIntakeOptions {
  redisUrl: string;
  prefix: string;
  maxQueuedRequests: number;
  /** Delivery attempts per request (a dead scheduler's stalled job counts as a failed attempt only when it stalls too often). */
  attempts?: number;
  /** Why new requests are refused at once (e.g. shutting down); undefined: accept. An unreachable Redis always refuses. */
  admission?: () => string | undefined;
  /** What keeps requests from being served now (Redis or every scheduler down), since when; undefined when fine. */
  outage?: () => { since: number; reason: string } | undefined;
  /** How long a request in flight waits out an outage before it fails (default 30 s). */
  dependencyWaitMs?: number;
}

export class QueueIntake implements Intake {
  /** The BullMQ queue (its job counts are this role's queue-depth metric). */
  readonly queue: Queue<QueueJobData>;
  private readonly redis: Redis;
  private readonly streams: StreamFanIn;

  constructor(private readonly opts: QueueIntakeOptions) {
    this.queue = createQueue<QueueJobData>(GENERATE_QUEUE, {
      redisUrl: opts.redisUrl,
      prefix: opts.prefix,
      defaultJobOptions: { attempts: opts.attempts ?? 5, backoff: { type: 'fixed', delay: 100 }, removeOnComplete: true, removeOnFail: { count: 1000 } },
    });
    this.redis = createRedisConnection(opts.redisUrl);
    const reader = this.redis.duplicate();
    watchRedis(reader, opts.redisUrl);
    this.streams = new StreamFanIn(reader, this.redis);
  }

  async *generate(request: NormalizedRequest, signal?: AbortSignal): AsyncGenerator<inference.GenerateResponse> {
    const redis = redisState(this.opts.redisUrl);
    const refused = !redis.up || this.redis.status === 'end' ? `Redis is unreachable (${redis.reason ?? 'connection closed'})` : this.opts.admission?.();
    if (refused) throw unavailable(`not accepting requests now: ${refused}; retry later`);
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
    const inFlight = Object.values(counts).reduce((a, b) => a + b, 0);
    if (inFlight >= this.opts.maxQueuedRequests) {
      throw resourceExhausted(`the queue holds ${inFlight} requests (max_queued_requests = ${this.opts.maxQueuedRequests}); retry later`);
    }
    await withSpan(`${GENERATE_QUEUE} publish`, { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'bullmq', 'messaging.destination.name': GENERATE_QUEUE } }, async () => {
      const trace: Record<string, string> = {};
      injectTrace(trace); // the consumer's span continues this trace
      await this.queue.add(GENERATE_QUEUE, Object.keys(trace).length > 0 ? { request, trace } : { request }, { jobId: request.requestId });
    });
    let finished = false;
    try {
      for await (const msg of this.relay(request, signal)) {
        if (msg.usage) finished = true; // the request's last message
        yield msg;
      }
    } finally {
      if (!finished) await this.cancel(request.requestId);
    }
  }

  /** Tells the schedulers a request's client left: the one running it stops within a step; a later one skips it. */
  private async cancel(requestId: string): Promise<void> {
    const { prefix } = this.opts;
    await this.redis
      .multi()
      .set(cancelKey(prefix, requestId), '1', 'EX', DELTA_STREAM_TTL_S)
      .publish(cancelChannel(prefix), requestId)
      .exec()
      .catch(() => undefined);
    await this.queue.remove(requestId).catch(() => undefined); // still waiting: never runs
  }

  /** Reads the request's stream until the message that carries usage (the request's last). */
  private async *relay(request: NormalizedRequest, signal?: AbortSignal): AsyncGenerator<inference.GenerateResponse> {
    const key = deltaStreamKey(this.opts.prefix, request.requestId);
    const inbox = new AsyncQueue<[string, string[]][]>();
    const unsubscribe = this.streams.subscribe(key, '0-0', { onEntries: (e) => inbox.push(e), onError: (err) => inbox.fail(err) });
    const onAbort = () => inbox.end();
    signal?.addEventListener('abort', onAbort);
    let lastId = '0-0';
    let lastNews = Date.now();
    let checking = false;
    // An outage longer than the bound ends the wait; a stream quiet for long has its job looked up.
    const watchdog = setInterval(() => {
      const o = this.opts.outage?.();
      if (o && Date.now() - o.since > (this.opts.dependencyWaitMs ?? 30_000)) {
        inbox.fail(unavailable(`the request waited ${Math.round((Date.now() - o.since) / 1000)} s for ${o.reason}; retry later`));
        return;
      }
      if (checking || Date.now() - lastNews < QUIET_CHECK_MS) return;
      checking = true;
      void this.jobIsGone(request.requestId, key, lastId)
        .then((gone) => gone && inbox.fail(unavailable('the request was lost (its queue entry is gone, e.g. Redis restarted without persistence); retry it')))
        .catch(() => undefined)
        .finally(() => ((checking = false), (lastNews = Date.now())));
    }, 250);
    const expected: number[] = new Array(request.n).fill(0);
    try {
      for await (const entries of inbox) {
        if (signal?.aborted) return;
        lastNews = Date.now();
        for (const [id, fields] of entries) {
          lastId = id;
          const parsed = decodeDelta(fields[1]);
          if ('error' in parsed) throw new ServerError(parsed.error.code, parsed.error.message);
          if (parsed.tokenOffset !== expected[parsed.index]) continue; // a re-delivered duplicate
          expected[parsed.index] += parsed.tokenIds.length;
          yield parsed;
          if (parsed.usage) return;
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    } finally {
      clearInterval(watchdog);
      signal?.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  /** True when the request's job no longer exists and its stream has nothing more to read (checked after quiet seconds). */
  private async jobIsGone(requestId: string, key: string, lastId: string): Promise<boolean> {
    const state = await this.queue.getJobState(requestId).catch(() => 'error');
    if (state !== 'unknown') return false;
    const more = await this.redis.xread('COUNT', 1, 'STREAMS', key, lastId).catch(() => null);
    return !more;
  }

  async close(): Promise<void> {
    this.streams.close();
    await this.queue.close();
    await this.redis.quit().catch(() => undefined);
  }
}
