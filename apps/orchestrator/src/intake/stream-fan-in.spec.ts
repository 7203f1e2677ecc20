/*
 * StreamFanIn against a real redis-server: several streams read over one connection, each
 * subscriber getting exactly its own stream's entries in order (also those written before it
 * subscribed, and none after it unsubscribed); a stream subscribed while the read is blocked is
 * served at once (the block here is 20 s, so only the CLIENT UNBLOCK can explain a prompt answer);
 * a burst of entries on many streams takes a few reads, not one per entry; close() fails the reads in
 * progress.
 */
import { startRedis, type StartedRedis } from '@llm/testing';
import IORedis, { type Redis } from 'ioredis';
import { StreamFanIn } from './stream-fan-in';

jest.setTimeout(60_000);

let redis: StartedRedis;
let control: Redis;
const P = `sfi${process.pid}`;
const readers: StreamFanIn[] = [];
const conns: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis({ prefer: 'process' });
  control = new IORedis(redis.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  for (const r of readers) r.close();
  await Promise.all(conns.map((c) => (c.status === 'end' ? undefined : new Promise((d) => c.once('end', d)))));
  await control?.quit();
  await redis?.stop();
});

function fanIn(blockMs = 20_000): StreamFanIn {
  const conn = new IORedis(redis.url, { maxRetriesPerRequest: null, disconnectTimeout: 50 });
  conns.push(conn);
  const r = new StreamFanIn(conn, control, blockMs);
  readers.push(r);
  return r;
}

/** Collects a stream's values (field d) until `n` arrived. */
function collect(reader: StreamFanIn, key: string, n: number): { values: string[]; done: Promise<string[]>; stop: () => void } {
  const values: string[] = [];
  let resolve: (v: string[]) => void = () => undefined;
  const done = new Promise<string[]>((r) => (resolve = r));
  const stop = reader.subscribe(key, '0-0', {
    onEntries: (entries) => {
      for (const [, fields] of entries) values.push(fields[1]);
      if (values.length >= n) resolve(values);
    },
    onError: () => undefined,
  });
  return { values, done, stop };
}

async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('StreamFanIn', () => {
  it('gives each subscriber its own stream in order, including entries written before it subscribed', async () => {
    const r = fanIn();
    await control.xadd(`${P}:a`, '*', 'd', 'a0');
    const a = collect(r, `${P}:a`, 3);
    const b = collect(r, `${P}:b`, 2);
    await control.xadd(`${P}:b`, '*', 'd', 'b0');
    await control.xadd(`${P}:a`, '*', 'd', 'a1');
    await control.xadd(`${P}:b`, '*', 'd', 'b1');
    await control.xadd(`${P}:a`, '*', 'd', 'a2');
    expect(await within(a.done, 5000)).toEqual(['a0', 'a1', 'a2']);
    expect(await within(b.done, 5000)).toEqual(['b0', 'b1']);
    a.stop();
    b.stop();
  });

  it('serves a stream subscribed while the read is blocked at once (CLIENT UNBLOCK), not after the 20 s block', async () => {
    const r = fanIn();
    const first = collect(r, `${P}:first`, 1);
    await new Promise((d) => setTimeout(d, 100)); // the reader is now blocked on `first` alone
    const late = collect(r, `${P}:late`, 1);
    await control.xadd(`${P}:late`, '*', 'd', 'hello');
    expect(await within(late.done, 2000)).toEqual(['hello']);
    await control.xadd(`${P}:first`, '*', 'd', 'x');
    expect(await within(first.done, 2000)).toEqual(['x']);
    first.stop();
    late.stop();
  });

  it('reads a burst on many streams in a few reads, and nothing after unsubscribing', async () => {
    const r = fanIn();
    const keys = Array.from({ length: 32 }, (_, i) => `${P}:burst${i}`);
    const subs = keys.map((k) => collect(r, k, 1));
    await new Promise((d) => setTimeout(d, 100));
    const before = r.numReads;
    const pipeline = control.pipeline();
    for (const k of keys) pipeline.xadd(k, '*', 'd', k);
    await pipeline.exec();
    const got = await within(Promise.all(subs.map((s) => s.done)), 5000);
    expect(got).toEqual(keys.map((k) => [k]));
    expect(r.numReads - before).toBeLessThanOrEqual(4); // one per entry would be 32
    subs[0].stop();
    await control.xadd(keys[0], '*', 'd', 'after');
    await control.xadd(keys[1], '*', 'd', 'more');
    await within(new Promise<void>((d) => { const t = setInterval(() => subs[1].values.length === 2 && (clearInterval(t), d()), 5); }), 5000);
    expect(subs[0].values).toEqual([keys[0]]); // unsubscribed: 'after' never delivered
    for (const s of subs) s.stop();
  });

  it('close() fails the reads in progress', async () => {
    const r = fanIn();
    const err = new Promise<Error>((resolve) => r.subscribe(`${P}:closing`, '0-0', { onEntries: () => undefined, onError: resolve }));
    await new Promise((d) => setTimeout(d, 100));
    r.close();
    expect(await within(err, 5000)).toBeInstanceOf(Error);
    expect(() => r.subscribe(`${P}:x`, '0-0', { onEntries: () => undefined, onError: () => undefined })).toThrow(/closed/);
  });
});
