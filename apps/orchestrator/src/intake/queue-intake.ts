/*
 * QueueIntake: the distributed api role's intake. Each request becomes one BullMQ job on the
 * `generate` queue (job id = request id), with bounded admission: when waiting + active jobs reach
 * max_queued_requests the request is refused at once with RESOURCE_EXHAUSTED (HTTP 429). The
 * client's stream is relayed from the request's Redis stream, which schedulers append to; entries
 * are de-duplicated by (sample index, token offset), so a re-delivered request that rewrites a
 * delta never shows the client a duplicate, and gaps cannot occur because a scheduler resumes from
 * exactly the tokens already in the stream. A client that leaves publishes a cancel.
 *
 * What it is not: a scheduler (queue-consumer.ts) or exactly-once admission (the count and the
 * add are two calls, so a burst may overshoot the bound by the number of concurrent adds).
 */
import { createQueue, createRedisConnection, injectTrace, resourceExhausted, SpanKind, withSpan, type Queue } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { Redis } from 'ioredis';
import { ServerError } from 'nice-grpc-common';
import type { NormalizedRequest } from '../api/params';
import type { Intake } from './intake';
import { cancelChannel, decodeDelta, deltaStreamKey, GENERATE_QUEUE } from './redis-keys';

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
}

export class QueueIntake implements Intake {
  /** The BullMQ queue (its job counts are this role's queue-depth metric). */
  readonly queue: Queue<QueueJobData>;
  private readonly redis: Redis;
  private readonly readers = new Set<Redis>();

  constructor(private readonly opts: QueueIntakeOptions) {
    this.queue = createQueue<QueueJobData>(GENERATE_QUEUE, {
      redisUrl: opts.redisUrl,
      prefix: opts.prefix,
      defaultJobOptions: { attempts: opts.attempts ?? 5, backoff: { type: 'fixed', delay: 100 }, removeOnComplete: true, removeOnFail: { count: 1000 } },
    });
    this.redis = createRedisConnection(opts.redisUrl);
  }

  async *generate(request: NormalizedRequest, signal?: AbortSignal): AsyncGenerator<inference.GenerateResponse> {
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
        if (msg.usage) finished = true;
        yield msg;
      }
      finished = true;
    } finally {
      if (!finished) await this.redis.publish(cancelChannel(this.opts.prefix), request.requestId).catch(() => undefined);
    }
  }

  /** Reads the request's stream until the message that carries usage (the request's last). */
  private async *relay(request: NormalizedRequest, signal?: AbortSignal): AsyncGenerator<inference.GenerateResponse> {
    const reader = this.redis.duplicate();
    this.readers.add(reader);
    const onAbort = () => reader.disconnect();
    signal?.addEventListener('abort', onAbort);
    const key = deltaStreamKey(this.opts.prefix, request.requestId);
    const expected: number[] = new Array(request.n).fill(0);
    let lastId = '0-0';
    try {
      for (;;) {
        if (signal?.aborted) return;
        const res = await reader.xread('BLOCK', 1000, 'STREAMS', key, lastId).catch((err) => {
          if (signal?.aborted) return null;
          throw err;
        });
        if (!res) continue;
        for (const [id, fields] of res[0][1]) {
          lastId = id;
          const parsed = decodeDelta(fields[1]);
          if ('error' in parsed) throw new ServerError(parsed.error.code, parsed.error.message);
          if (parsed.tokenOffset !== expected[parsed.index]) continue; // a re-delivered duplicate
          expected[parsed.index] += parsed.tokenIds.length;
          yield parsed;
          if (parsed.usage) return;
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.readers.delete(reader);
      reader.disconnect();
    }
  }

  async close(): Promise<void> {
    for (const r of this.readers) r.disconnect();
    await this.queue.close();
    await this.redis.quit().catch(() => undefined);
  }
}
