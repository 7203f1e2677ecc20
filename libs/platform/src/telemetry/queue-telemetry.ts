/**
 * BullMQ metrics. The job counts live in Redis, so the depth gauge reads them when /metrics is
 * scraped (exact at that instant, no timer); the events a worker sees are counted as they happen:
 *
 *   llm_queue_jobs{queue,state}                  jobs per state: waiting, active, delayed, prioritized,
 *                                                paused, failed, completed (as kept by the queue)
 *   llm_queue_jobs_completed_total{queue}        jobs this process's worker completed
 *   llm_queue_jobs_failed_total{queue}           attempts that failed in this process's worker
 *   llm_queue_jobs_stalled_total{queue}          jobs this worker's stalled check gave back (a dead consumer's)
 *   llm_queue_job_wait_seconds{queue}            enqueue -> a worker took it (first attempt; the
 *                                                producer's clock against this one's)
 *
 * What it is not: the queues themselves (../queue.ts).
 */
import type { Job, Queue, Worker } from 'bullmq';
import { counter, gauge, histogram } from '../metrics';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'failed', 'completed'] as const;
const WAIT_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const COUNT_TIMEOUT_MS = 2000;

const observed = new Map<Queue, string>();

function depthGauge() {
  return gauge('llm_queue_jobs', 'BullMQ jobs per queue and state, read from Redis at scrape time.', ['queue', 'state'], async function collect() {
    await Promise.all(
      [...observed].map(async ([queue, name]) => {
        const counts = await Promise.race([
          queue.getJobCounts(...STATES),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), COUNT_TIMEOUT_MS).unref()),
        ]).catch(() => undefined); // Redis unreachable: keep the last values rather than fail the scrape
        if (!counts) return;
        for (const state of STATES) this.set({ queue: name, state }, counts[state] ?? 0);
      }),
    );
  });
}

/** Reports `queue`'s job counts at every scrape until the returned function is called. */
export function observeQueueDepth(name: string, queue: Queue): () => void {
  depthGauge();
  observed.set(queue, name);
  return () => observed.delete(queue);
}

/** Counts a worker's completed, failed and stalled jobs. */
export function observeQueueWorker(name: string, worker: Worker): void {
  const completed = counter('llm_queue_jobs_completed_total', 'BullMQ jobs completed by this process.', ['queue']).labels(name);
  const failed = counter('llm_queue_jobs_failed_total', 'BullMQ job attempts that failed in this process.', ['queue']).labels(name);
  const stalled = counter('llm_queue_jobs_stalled_total', "BullMQ jobs this process's stalled check gave back to the queue.", ['queue']).labels(name);
  for (const c of [completed, failed, stalled]) c.inc(0); // the series exist from the start
  worker.on('completed', () => completed.inc());
  worker.on('failed', () => failed.inc());
  worker.on('stalled', () => stalled.inc());
}

/** Observes how long a job waited in the queue, on its first attempt. */
export function observeJobWait(name: string, job: Pick<Job, 'timestamp' | 'attemptsMade'>, now = Date.now()): void {
  if (job.attemptsMade > 0) return;
  histogram('llm_queue_job_wait_seconds', 'BullMQ job wait from enqueue to its first processing (seconds).', ['queue'], WAIT_SECONDS).observe(
    { queue: name },
    Math.max(0, now - job.timestamp) / 1000,
  );
}
