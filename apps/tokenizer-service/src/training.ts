/*
 * Where Train runs. Embedded mode: in this process (trainBpeAsync yields between batches of
 * merges, so the server keeps answering and progress streams as it happens). Distributed
 * mode: as a BullMQ job on Redis - the request is enqueued, any tokenizer-service replica
 * with a worker trains it and reports progress through the job, and the caller's stream
 * relays that progress and the result with the job id.
 *
 * What it is not: training itself (libs/tokenizer trainBpeAsync).
 */
import { createQueue, createQueueEvents, createWorker, type Job, type Queue, type QueueEvents, type Worker } from '@llm/platform';
import { toTiktokenRanks, toTokenizerJson, trainBpeAsync } from '@llm/tokenizer';

export interface TrainJobData {
  corpus: string;
  vocabSize: number;
  specialTokens: string[];
  pattern?: string;
}

export interface TrainResult {
  tokenizerJson: string;
  tiktokenRanks: string;
}

export interface TrainEvent {
  numMergesDone: number;
  numMergesTotal: number;
  done: boolean;
  result?: TrainResult;
  jobId?: string;
}

export interface TrainRunner {
  run(data: TrainJobData): AsyncIterable<TrainEvent>;
  close(): Promise<void>;
}

/** Trains and serializes; reports (done, total) as merges are learned. */
export async function trainJob(data: TrainJobData, onProgress: (done: number, total: number) => void): Promise<TrainResult> {
  const trained = await trainBpeAsync(data.corpus, {
    vocabSize: data.vocabSize,
    specialTokens: data.specialTokens,
    pattern: data.pattern,
    onProgress,
  });
  return { tokenizerJson: JSON.stringify(toTokenizerJson(trained)), tiktokenRanks: toTiktokenRanks(trained) };
}

/** A push-based async iterable: producers push events, the consumer awaits them in order. */
class Channel<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private ended = false;
  private error: unknown = null;

  push(item: T): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: item, done: false });
    } else this.items.push(item);
  }

  end(error?: unknown): void {
    this.ended = true;
    this.error = error ?? null;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: undefined as never, done: true });
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.ended) {
        if (this.error) throw this.error;
        return;
      }
      const r = await new Promise<IteratorResult<T>>((resolve) => (this.waiting = resolve));
      if (r.done) {
        if (this.error) throw this.error;
        return;
      }
      yield r.value;
    }
  }
}

/** Embedded mode: train in this process. */
export class LocalTrainRunner implements TrainRunner {
  run(data: TrainJobData): AsyncIterable<TrainEvent> {
    const ch = new Channel<TrainEvent>();
    trainJob(data, (done, total) => ch.push({ numMergesDone: done, numMergesTotal: total, done: false })).then(
      (result) => {
        const total = data.vocabSize - 256 - data.specialTokens.length;
        ch.push({ numMergesDone: total, numMergesTotal: total, done: true, result });
        ch.end();
      },
      (err) => ch.end(err),
    );
    return ch;
  }

  async close(): Promise<void> {}
}

/** Distributed mode: Train requests become BullMQ jobs; this process may also consume them. */
export class BullMqTrainRunner implements TrainRunner {
  private readonly queue: Queue<TrainJobData, TrainResult>;
  private readonly events: QueueEvents;
  private readonly worker: Worker<TrainJobData, TrainResult> | null;

  constructor(redisUrl: string, queueName: string, consume: boolean) {
    const options = { redisUrl, defaultJobOptions: { attempts: 1 } };
    this.queue = createQueue<TrainJobData, TrainResult>(queueName, options);
    this.events = createQueueEvents(queueName, options);
    this.worker = consume
      ? createWorker<TrainJobData, TrainResult>(
          queueName,
          (job: Job<TrainJobData, TrainResult>) => trainJob(job.data, (done, total) => void job.updateProgress({ done, total })),
          options,
        )
      : null;
  }

  run(data: TrainJobData): AsyncIterable<TrainEvent> {
    const ch = new Channel<TrainEvent>();
    void this.relay(data, ch).catch((err) => ch.end(err));
    return ch;
  }

  private async relay(data: TrainJobData, ch: Channel<TrainEvent>): Promise<void> {
    await this.events.waitUntilReady();
    const job = await this.queue.add('train', data);
    const jobId = String(job.id);
    const onProgress = ({ jobId: id, data: p }: { jobId: string; data: unknown }) => {
      const prog = p as { done?: number; total?: number };
      if (id === jobId && typeof prog?.done === 'number') {
        ch.push({ numMergesDone: prog.done, numMergesTotal: prog.total ?? 0, done: false, jobId });
      }
    };
    this.events.on('progress', onProgress);
    try {
      const result = await job.waitUntilFinished(this.events);
      const total = data.vocabSize - 256 - data.specialTokens.length;
      ch.push({ numMergesDone: total, numMergesTotal: total, done: true, result, jobId });
      ch.end();
    } catch (err) {
      // the corpus not supporting the vocab size is the caller's input; anything else is ours
      const message = err instanceof Error ? err.message : String(err);
      const code = message.startsWith('trainBpe:') ? 'INVALID_ARGUMENT' : 'INTERNAL';
      ch.end(Object.assign(new Error(`training job ${jobId} failed: ${message}`), { code }));
    } finally {
      this.events.off('progress', onProgress);
    }
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.events.close();
    await this.queue.close();
  }
}
