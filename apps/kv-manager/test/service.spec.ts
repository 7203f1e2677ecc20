// The KvManager service beyond the shared suite: health, status codes on the wire, summed
// stats, Prometheus metrics set at each call (exact values for known allocations), the lease
// sweeper's timer, and the config schema.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { HealthDefinition } from 'nice-grpc-server-health';
import { ClientError, GrpcServerHost, Status, connectGrpc, loadConfig, metricsRegistry, type GrpcConnection } from '@llm/platform';
import { kv } from '@llm/proto';
import { KvManagerModule, KvManagerService, kvManagerConfigSchema } from '../src';

const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);

async function statusOf(p: Promise<unknown>): Promise<{ code: string; details: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ClientError);
    return { code: Status[(e as ClientError).code], details: (e as ClientError).details };
  }
  throw new Error('the call succeeded');
}

async function gaugeValue(name: string, pool?: string): Promise<number | undefined> {
  const all = await metricsRegistry().getMetricsAsJSON();
  const metric = all.find((m) => m.name === name);
  return metric?.values.find((v) => pool === undefined || v.labels.pool === pool)?.value;
}

describe('KvManager service', () => {
  let app: INestApplicationContext;
  let conn: GrpcConnection<typeof kv.KvManagerDefinition>;
  let now = 0;

  beforeAll(async () => {
    const module = KvManagerModule.register({ host: '127.0.0.1', grpcPort: 0, leaseSweepMs: 20 }, true, { now: () => now });
    app = await NestFactory.createApplicationContext(module, { logger: false });
    conn = connectGrpc(kv.KvManagerDefinition, app.get(GrpcServerHost).address);
  });
  afterAll(async () => {
    conn?.close();
    await app?.close();
  });

  it('serves grpc.health.v1 for llm.kv.v1.KvManager on 127.0.0.1', async () => {
    const address = app.get(GrpcServerHost).address;
    expect(address.startsWith('127.0.0.1:')).toBe(true);
    const health = connectGrpc(HealthDefinition, address);
    expect((await health.client.check({ service: kv.KvManagerDefinition.fullName })).status).toBe(1); // SERVING
    health.close();
  });

  it('answers bad input with the status code and a message naming the field or sequence', async () => {
    const c = conn.client;
    expect(await statusOf(c.registerPool({ poolId: 'w', numBlocks: 1, blockSizeTokens: 16 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: expect.stringContaining('numBlocks'),
    });
    expect(await statusOf(c.registerPool({ poolId: '', numBlocks: 8, blockSizeTokens: 16 }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await statusOf(c.allocateSlots({ poolId: 'nope', ownerId: '', commitSeqIds: [], sequences: [] }))).toMatchObject({
      code: 'NOT_FOUND',
      details: expect.stringContaining('pool nope is not registered'),
    });
    await c.registerPool({ poolId: 'errs', numBlocks: 8, blockSizeTokens: 4 });
    expect(await statusOf(c.free({ poolId: 'errs', seqIds: ['s-17'] }))).toEqual({
      code: 'INVALID_ARGUMENT',
      details: 'unknown sequence s-17 (never allocated in this pool)',
    });
    expect(await statusOf(c.renewLease({ ownerId: '', ttlMs: 10 }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await statusOf(c.renewLease({ ownerId: 'x', ttlMs: 0 }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('sums stats over every pool when pool_id is empty, and publishes the same numbers as metrics at each call', async () => {
    const c = conn.client;
    await c.registerPool({ poolId: 'g1', numBlocks: 9, blockSizeTokens: 4 });
    await c.registerPool({ poolId: 'g2', numBlocks: 17, blockSizeTokens: 4 });
    expect(await gaugeValue('llm_kv_cache_usage_perc', 'g1')).toBe(0);
    const seq = (seqId: string, n: number) => ({ seqId, newTokenIds: range(1, n), cacheSalt: '', numTokensToCompute: 0 });
    await c.allocateSlots({ poolId: 'g1', ownerId: '', commitSeqIds: [], sequences: [seq('a', 9)] });
    // At the call, no Stats and no sweep in between: 3 of 8 blocks used.
    expect(await gaugeValue('llm_kv_blocks_used', 'g1')).toBe(3);
    expect(await gaugeValue('llm_kv_cache_usage_perc', 'g1')).toBe(3 / 8);
    await c.allocateSlots({ poolId: 'g1', ownerId: '', commitSeqIds: ['a'], sequences: [seq('b', 9)] }); // hits 8 of 9
    await c.allocateSlots({ poolId: 'g2', ownerId: '', commitSeqIds: [], sequences: [seq('a', 6)] });
    expect(await gaugeValue('llm_prefix_cache_queries_total', 'g1')).toBe(18);
    expect(await gaugeValue('llm_prefix_cache_hits_total', 'g1')).toBe(8);
    expect(await gaugeValue('llm_prefix_cache_queries_total', 'g2')).toBe(6);
    expect(await gaugeValue('llm_prefix_cache_hits_total', 'g2')).toBe(0);
    const g1 = await c.stats({ poolId: 'g1' });
    // a: 3 blocks for 9 tokens; b: 2 shared + 1 own; waste = 4 * 4 - (9 + 1) = 6
    expect(g1).toEqual({
      numBlocks: 8,
      numUsedBlocks: 4,
      numFreeBlocks: 4,
      numCachedBlocks: 0,
      numSequences: 2,
      prefixHitRate: 8 / 18,
      internalFragmentationSlots: 6,
      blockSizeTokens: 4,
    });
    const all = await c.stats({ poolId: '' });
    const errs = await c.stats({ poolId: 'errs' });
    expect(all.numBlocks).toBe(8 + 16 + errs.numBlocks);
    expect(all.numUsedBlocks).toBe(4 + 2);
    expect(all.internalFragmentationSlots).toBe(6 + 2);
    expect(all.prefixHitRate).toBeCloseTo(8 / 24, 12);
    expect(await gaugeValue('llm_kv_blocks_used', 'g1')).toBe(4);
    expect(await gaugeValue('llm_kv_blocks_free', 'g1')).toBe(4);
    expect(await gaugeValue('llm_kv_cache_usage_perc', 'g1')).toBe(4 / 8);
    expect(await gaugeValue('llm_kv_blocks_capacity', 'g2')).toBe(16);
    expect(await gaugeValue('llm_kv_internal_fragmentation_slots', 'g1')).toBe(6);
    expect(await gaugeValue('llm_kv_sequences', 'g2')).toBe(1);
    // Freeing a's and b's blocks: nothing used; a's two full committed blocks stay cached (free).
    await c.free({ poolId: 'g1', seqIds: ['a', 'b'] });
    expect(await gaugeValue('llm_kv_cache_usage_perc', 'g1')).toBe(0);
    expect(await gaugeValue('llm_kv_blocks_cached', 'g1')).toBe(2);
    expect(await gaugeValue('llm_kv_sequences', 'g1')).toBe(0);
    // A reset restarts the library's totals; the counters keep counting up from there.
    await c.reset({ poolId: 'g1' });
    await c.allocateSlots({ poolId: 'g1', ownerId: '', commitSeqIds: [], sequences: [seq('c', 5)] });
    expect(await gaugeValue('llm_prefix_cache_queries_total', 'g1')).toBe(18 + 5);
    expect(await gaugeValue('llm_kv_blocks_cached', 'g1')).toBe(0);
  });

  it("frees an expired owner's sequences on the sweeper's timer, without any call", async () => {
    const c = conn.client;
    await c.registerPool({ poolId: 'lease', numBlocks: 8, blockSizeTokens: 4 });
    await c.renewLease({ ownerId: 'sched-A', ttlMs: 1000 });
    await c.allocateSlots({
      poolId: 'lease',
      ownerId: 'sched-A',
      commitSeqIds: [],
      sequences: [{ seqId: 'q', newTokenIds: range(1, 5), cacheSalt: '', numTokensToCompute: 0 }],
    });
    const pools = app.get(KvManagerService).pools;
    expect(pools.pool('lease').numSequences).toBe(1);
    now += 1001;
    const deadline = Date.now() + 5000;
    while (pools.pool('lease').numSequences > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(pools.pool('lease').numSequences).toBe(0);
    expect(await gaugeValue('llm_kv_sequences_expired_total')).toBeGreaterThanOrEqual(1);
    expect((await c.renewLease({ ownerId: 'sched-B', ttlMs: 10 })).numSequencesExpiredTotal).toBe(1);
  });

  it('reads its settings from flags and environment', () => {
    expect(loadConfig(kvManagerConfigSchema, { argv: [], env: {} })).toEqual({
      host: '127.0.0.1',
      grpcPort: 50055,
      metricsPort: 9455,
      leaseSweepMs: 1000,
      logLevel: 'info',
      tlsCert: '',
      tlsKey: '',
      tlsCa: '',
    });
    expect(loadConfig(kvManagerConfigSchema, { argv: ['--grpc-port', '0'], env: { LLM_LEASE_SWEEP_MS: '250' } })).toMatchObject({
      grpcPort: 0,
      leaseSweepMs: 250,
    });
    expect(() => loadConfig(kvManagerConfigSchema, { argv: ['--lease-sweep-ms', '1'], env: {} })).toThrow(/--lease-sweep-ms.*expected >= 10/);
  });
});
