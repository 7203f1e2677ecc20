/*
 * StreamBatchWriter against a real redis-server: appends made together go out as one pipeline and
 * land in each stream in the order appended, with the TTL set; later appends make a new batch; a
 * failed XADD rejects only its own append. Checked by reading the streams back (XRANGE, TTL) and by
 * the writer's count of pipelines sent.
 */
import { startRedis, type StartedRedis } from '@llm/testing';
import IORedis, { type Redis } from 'ioredis';
import { StreamBatchWriter } from './stream-batch-writer';

jest.setTimeout(60_000);

let redis: StartedRedis;
let conn: Redis;
const P = `sbw${process.pid}`;

beforeAll(async () => {
  redis = await startRedis({ prefer: 'process' });
  conn = new IORedis(redis.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await conn?.quit();
  await redis?.stop();
});

const read = async (key: string) => (await conn.xrange(key, '-', '+')).map(([, fields]) => fields);

describe('StreamBatchWriter', () => {
  it('writes appends made together as one batch, each stream in append order, with its TTL', async () => {
    const w = new StreamBatchWriter(conn, 120);
    const keys = [`${P}:a`, `${P}:b`, `${P}:c`];
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 4; i++) for (const k of keys) writes.push(w.append(k, `${k}#${i}`));
    await Promise.all(writes);
    expect(w.numFlushes).toBe(1);
    for (const k of keys) {
      expect(await read(k)).toEqual([0, 1, 2, 3].map((i) => ['d', `${k}#${i}`]));
      const ttl = await conn.ttl(k);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
    }
  });

  it('starts a new batch for appends made after the last one went out', async () => {
    const w = new StreamBatchWriter(conn, 60);
    const key = `${P}:seq`;
    for (let i = 0; i < 3; i++) await w.append(key, String(i)); // each awaited: one batch each
    expect(w.numFlushes).toBe(3);
    expect(await read(key)).toEqual([['d', '0'], ['d', '1'], ['d', '2']]);
  });

  it('rejects only the append whose XADD failed', async () => {
    const w = new StreamBatchWriter(conn, 60);
    const wrong = `${P}:not-a-stream`;
    await conn.set(wrong, 'x'); // XADD to a string key: WRONGTYPE
    const [bad, good] = await Promise.allSettled([w.append(wrong, 'lost'), w.append(`${P}:ok`, 'kept')]);
    expect(bad.status).toBe('rejected');
    expect(String((bad as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(good.status).toBe('fulfilled');
    expect(await read(`${P}:ok`)).toEqual([['d', 'kept']]);
    expect(w.numFlushes).toBe(1);
  });
});
