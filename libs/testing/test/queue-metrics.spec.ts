/**
 * BullMQ metrics (libs/platform's queue telemetry) against a real Redis, read back exactly: the
 * depth gauge per state at scrape time, a worker's completed and failed counts (every failed
 * attempt), a stalled job given back by another worker's check after its first worker died, and
 * the wait histogram (one observation per job's first attempt, at a known enqueue time).
 */
import { createQueue, createWorker, metricsRegistry, observeJobWait, observeQueueDepth, observeQueueWorker, type Job } from '@llm/platform';
import { startRedis, type StartedRedis } from '../src';

jest.setTimeout(60_000);

async function read(name: string, labels: Record<string, string>, metricName = name): Promise<number> {
  const values = ((await metricsRegistry().getSingleMetric(name)?.get())?.values ?? []) as { labels: Record<string, unknown>; value: number; metricName?: string }[];
  return values.find((v) => (v.metricName ?? name) === metricName && Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))?.value ?? 0;
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('BullMQ metrics', () => {
  let redis: StartedRedis;
  const prefix = `qm${process.pid}`;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('reports each state at scrape time and counts completed and failed attempts', async () => {
    const name = 'depth';
    const queue = createQueue<{ fail: boolean }>(name, { redisUrl: redis.url, prefix, defaultJobOptions: { attempts: 2, backoff: { type: 'fixed', delay: 10 }, removeOnComplete: false, removeOnFail: false } });
    const stop = observeQueueDepth(name, queue);
    for (let i = 0; i < 3; i++) await queue.add(name, { fail: false });
    await queue.add(name, { fail: true });
    expect(await read('llm_queue_jobs', { queue: name, state: 'waiting' })).toBe(4);
    expect(await read('llm_queue_jobs', { queue: name, state: 'active' })).toBe(0);
    const worker = createWorker<{ fail: boolean }>(name, async (job) => {
      if (job.data.fail) throw new Error('planned failure');
    }, { redisUrl: redis.url, prefix });
    observeQueueWorker(name, worker);
    // 3 completed; the failing job fails both of its attempts.
    await until(async () => (await read('llm_queue_jobs_failed_total', { queue: name })) === 2 && (await read('llm_queue_jobs_completed_total', { queue: name })) === 3);
    await worker.close();
    expect(await read('llm_queue_jobs', { queue: name, state: 'waiting' })).toBe(0);
    expect(await read('llm_queue_jobs', { queue: name, state: 'completed' })).toBe(3);
    expect(await read('llm_queue_jobs', { queue: name, state: 'failed' })).toBe(1);
    stop();
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it("counts a dead worker's job given back by another worker's stalled check", async () => {
    const name = 'stall';
    const queue = createQueue(name, { redisUrl: redis.url, prefix });
    let started = false;
    const first = createWorker(name, () => {
      started = true;
      return new Promise(() => undefined); // never finishes: its worker dies below
    }, { redisUrl: redis.url, prefix, lockDuration: 300, stalledInterval: 100 });
    await queue.add(name, {});
    await until(async () => started);
    await first.close(true); // stops renewing the lock, like a killed process
    const second = createWorker(name, async () => undefined, { redisUrl: redis.url, prefix, lockDuration: 300, stalledInterval: 100, maxStalledCount: 2 });
    observeQueueWorker(name, second);
    await until(async () => (await read('llm_queue_jobs_stalled_total', { queue: name })) === 1 && (await read('llm_queue_jobs_completed_total', { queue: name })) === 1);
    await second.close();
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('observes the wait of a first attempt only', () => {
    const name = 'wait';
    observeJobWait(name, { timestamp: 1_000, attemptsMade: 0 } as Job, 1_750); // 0.75 s
    observeJobWait(name, { timestamp: 1_000, attemptsMade: 1 } as Job, 9_000); // a retry: not a wait
    return Promise.all([
      read('llm_queue_job_wait_seconds', { queue: name }, 'llm_queue_job_wait_seconds_count').then((v) => expect(v).toBe(1)),
      read('llm_queue_job_wait_seconds', { queue: name }, 'llm_queue_job_wait_seconds_sum').then((v) => expect(v).toBe(0.75)),
      read('llm_queue_job_wait_seconds', { queue: name, le: '0.5' }, 'llm_queue_job_wait_seconds_bucket').then((v) => expect(v).toBe(0)),
      read('llm_queue_job_wait_seconds', { queue: name, le: '1' }, 'llm_queue_job_wait_seconds_bucket').then((v) => expect(v).toBe(1)),
    ]);
  });
});
