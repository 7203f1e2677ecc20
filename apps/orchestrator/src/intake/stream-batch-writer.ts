/*
 * StreamBatchWriter: the scheduler role's writes of deltas to the requests' Redis streams, batched.
 * A scheduler step hands every running request one delta at about the same moment; written one by
 * one, each is its own MULTI/XADD/EXPIRE/EXEC round trip and socket write (32 clients: 32 writes per
 * step, on the same event loop that drives the worker). Here every append made before the event
 * loop next turns (setImmediate) goes out as one pipeline: an XADD per delta in the order appended
 * (so one request's deltas keep their order), then one EXPIRE per stream touched. Each append
 * resolves when its XADD is answered, or rejects with that command's error alone.
 *
 * What it is not: a queue with back-pressure (the caller awaits each append before the next of the
 * same request) or atomic: an XADD and its EXPIRE are separate commands of one pipeline, so a
 * connection lost between them can leave one stream without its TTL until its next write.
 */
import type { Redis } from 'ioredis';

interface Pending {
  key: string;
  payload: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class StreamBatchWriter {
  private batch: Pending[] = [];
  private scheduled = false;
  /** Pipelines sent (one per batch). */
  numFlushes = 0;

  constructor(
    private readonly redis: Redis,
    /** Each written stream stays readable this long after its last write. */
    private readonly ttlS: number,
    /** The stream entry's field name (the api reads field `d`). */
    private readonly field = 'd',
  ) {}

  /** Appends `payload` to the stream `key` in the next batch; resolves once Redis has it. */
  append(key: string, payload: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.batch.push({ key, payload, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = [];
    this.scheduled = false;
    if (batch.length === 0) return;
    this.numFlushes++;
    const pipeline = this.redis.pipeline();
    const keys = new Set<string>();
    for (const e of batch) {
      pipeline.xadd(e.key, '*', this.field, e.payload);
      keys.add(e.key);
    }
    for (const k of keys) pipeline.expire(k, this.ttlS);
    pipeline.exec().then(
      (results) => batch.forEach((e, i) => {
        const err = results?.[i]?.[0];
        if (err) e.reject(err);
        else e.resolve();
      }),
      (err: Error) => batch.forEach((e) => e.reject(err)),
    );
  }
}
