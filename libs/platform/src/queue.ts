/**
 * BullMQ plumbing on ioredis. BullMQ carries request-level work only (generation requests, training
 * and eval jobs), never per-step traffic. Connections use `maxRetriesPerRequest: null` as BullMQ
 * requires for blocking commands.
 */
import { Queue, QueueEvents, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';

export { Queue, QueueEvents, Worker };
export type { Job, JobsOptions, Processor } from 'bullmq';

/** Opens a Redis connection suitable for BullMQ from a redis:// URL. */
export function createRedisConnection(url: string): Redis {
  return new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

export interface QueueFactoryOptions {
  /** redis://host:port */
  redisUrl: string;
  /** Key prefix, so several platforms can share one Redis. */
  prefix?: string;
  defaultJobOptions?: JobsOptions;
}

/** A queue with sane defaults: 3 attempts with exponential backoff, completed jobs trimmed. */
export function createQueue<T = unknown, R = unknown>(name: string, options: QueueFactoryOptions): Queue<T, R> {
  return new Queue<T, R>(name, {
    connection: createRedisConnection(options.redisUrl),
    prefix: options.prefix ?? 'llm',
    defaultJobOptions: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 200 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
      ...options.defaultJobOptions,
    },
  });
}

/** A worker that processes `name` jobs; a thrown error retries the job until its attempts run out. */
export function createWorker<T = unknown, R = unknown>(
  name: string,
  processor: Processor<T, R>,
  options: QueueFactoryOptions & Partial<Omit<WorkerOptions, 'connection' | 'prefix'>>,
): Worker<T, R> {
  const { redisUrl, prefix, defaultJobOptions: _ignored, ...rest } = options;
  return new Worker<T, R>(name, processor, {
    connection: createRedisConnection(redisUrl),
    prefix: prefix ?? 'llm',
    concurrency: 1,
    ...rest,
  });
}

/** Queue events (completed, failed, progress) for waiting on jobs. */
export function createQueueEvents(name: string, options: QueueFactoryOptions): QueueEvents {
  return new QueueEvents(name, { connection: createRedisConnection(options.redisUrl), prefix: options.prefix ?? 'llm' });
}
