/**
 * BullMQ plumbing on ioredis. BullMQ carries request-level work only (generation requests, training
 * and eval jobs), never per-step traffic. Connections use `maxRetriesPerRequest: null` as BullMQ
 * requires for blocking commands.
 */
import { Queue, QueueEvents, UnrecoverableError, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import { watchBullMq, watchRedis } from './redis-state';

export { Queue, QueueEvents, UnrecoverableError, Worker };
export type { Job, JobsOptions, Processor } from 'bullmq';

/** Opens a Redis connection suitable for BullMQ from a redis:// URL (the caller closes it); outages are logged once per change. */
export function createRedisConnection(url: string): Redis {
  const conn = new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  watchRedis(conn, url);
  return conn;
}

/**
 * ioredis options from a redis:// URL. Queues, workers and events get options rather than a
 * connection, so BullMQ owns their connections and closes them in close().
 */
export function redisOptionsFromUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('--redis-url is not a URL (expected redis://host:port[/db]; not shown: it may hold a password)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new Error(`--redis-url must start with redis:// or rediss:// (got ${u.protocol}//...)`);
  }
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
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
  const queue = new Queue<T, R>(name, {
    connection: redisOptionsFromUrl(options.redisUrl),
    prefix: options.prefix ?? 'llm',
    defaultJobOptions: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 200 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
      ...options.defaultJobOptions,
    },
  });
  watchBullMq(queue as never, options.redisUrl);
  return queue;
}

/** A worker that processes `name` jobs; a thrown error retries the job until its attempts run out. */
export function createWorker<T = unknown, R = unknown>(
  name: string,
  processor: Processor<T, R>,
  options: QueueFactoryOptions & Partial<Omit<WorkerOptions, 'connection' | 'prefix'>>,
): Worker<T, R> {
  const { redisUrl, prefix, defaultJobOptions: _ignored, ...rest } = options;
  const worker = new Worker<T, R>(name, processor, {
    connection: redisOptionsFromUrl(redisUrl),
    prefix: prefix ?? 'llm',
    concurrency: 1,
    ...rest,
  });
  watchBullMq(worker as never, redisUrl);
  return worker;
}

/** Queue events (completed, failed, progress) for waiting on jobs. */
export function createQueueEvents(name: string, options: QueueFactoryOptions): QueueEvents {
  const events = new QueueEvents(name, { connection: redisOptionsFromUrl(options.redisUrl), prefix: options.prefix ?? 'llm' });
  watchBullMq(events as never, options.redisUrl);
  return events;
}
