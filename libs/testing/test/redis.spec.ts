/**
 * startRedis() both ways (each with a password: a client without it gets NOAUTH), and a BullMQ
 * round trip through libs/platform's queue factories:
 * a job processed and its result read back; a job that throws retried, then failed with its error.
 */
import IORedis from 'ioredis';
import { createQueue, createQueueEvents, createWorker } from '@llm/platform';
import { dockerAvailable, startRedis, type StartedRedis } from '@llm/testing';

jest.setTimeout(120_000);

async function ping(url: string): Promise<string> {
  const c = new IORedis(url, { maxRetriesPerRequest: 1 });
  c.on('error', () => undefined); // a refusal (NOAUTH) is the rejected ping, asserted by the caller
  try {
    return await c.ping();
  } finally {
    c.disconnect();
  }
}

describe('startRedis', () => {
  it('starts redis-server as a process on 127.0.0.1', async () => {
    const redis = await startRedis({ prefer: 'process' });
    try {
      expect(redis.via).toBe('process');
      expect(redis.host).toBe('127.0.0.1');
      expect(await ping(redis.url)).toBe('PONG');
      await expect(ping(`redis://127.0.0.1:${redis.port}`)).rejects.toThrow(/NOAUTH/); // a password is required
    } finally {
      await redis.stop();
    }
  });

  it('starts Redis through testcontainers when a Docker engine answers', async () => {
    const engine = await dockerAvailable();
    if (!engine) {
      // CI always starts an engine (.ci/run); there, no engine is a failure, not a skip.
      if (process.env.CI) throw new Error('CI is set but no Docker engine answers');
      console.warn('no Docker engine answers: container path not exercised on this machine');
      return;
    }
    const redis = await startRedis({ prefer: 'container' });
    try {
      expect(redis.via).toBe('container');
      expect(redis.url).toMatch(/^redis:\/\/:[0-9a-f]{32}@127\.0\.0\.1:\d+$/);
      expect(await ping(redis.url)).toBe('PONG');
      await expect(ping(`redis://127.0.0.1:${redis.port}`)).rejects.toThrow(/NOAUTH/); // a password is required
      console.log(`Redis started through testcontainers at 127.0.0.1:${redis.port} (image ${process.env.REDIS_IMAGE ?? 'redis:7-alpine'})`);
    } finally {
      await redis.stop();
    }
  });
});

describe('BullMQ round trip', () => {
  let redis: StartedRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('processes a job and returns its result; a throwing job is retried then failed', async () => {
    const opts = { redisUrl: redis.url, prefix: `t${Date.now()}` };
    const queue = createQueue<{ a: number; b: number; fail?: boolean }, number>('sum', {
      ...opts,
      defaultJobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 10 } },
    });
    const events = createQueueEvents('sum', opts);
    await events.waitUntilReady();
    const attemptsSeen: number[] = [];
    const worker = createWorker<{ a: number; b: number; fail?: boolean }, number>(
      'sum',
      async (job) => {
        if (job.data.fail) {
          attemptsSeen.push(job.attemptsMade);
          throw new Error(`cannot add ${job.data.a} and ${job.data.b}`);
        }
        return job.data.a + job.data.b;
      },
      opts,
    );
    try {
      const ok = await queue.add('add', { a: 2, b: 3 });
      expect(await ok.waitUntilFinished(events, 20_000)).toBe(5);

      const bad = await queue.add('add', { a: 1, b: 1, fail: true });
      await expect(bad.waitUntilFinished(events, 20_000)).rejects.toThrow('cannot add 1 and 1');
      const failed = await queue.getJob(bad.id!);
      expect(await failed!.getState()).toBe('failed');
      expect(failed!.attemptsMade).toBe(3);
      expect(failed!.failedReason).toBe('cannot add 1 and 1');
      expect(attemptsSeen).toEqual([0, 1, 2]);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});
