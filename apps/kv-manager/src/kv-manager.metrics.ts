/*
 * The kv-manager's Prometheus gauges, one series per pool (label `pool`), set from the
 * pure library's plain stats numbers (libs/kv returns numbers; prom-client lives here).
 * Deliberately refreshed on the sweep timer and on each Stats call rather than per
 * AllocateSlots: computing fragmentation walks the pool, which a per-step hot path
 * should not pay.
 */
import { counter, gauge } from '@llm/platform';
import type { KvStats } from '@llm/kv';

const g = {
  total: gauge('llm_kv_blocks_total', 'usable KV blocks in the pool (null block excluded)', ['pool']),
  used: gauge('llm_kv_blocks_used', 'KV blocks referenced by at least one sequence', ['pool']),
  free: gauge('llm_kv_blocks_free', 'KV blocks on the free queue (cached ones included)', ['pool']),
  cached: gauge('llm_kv_blocks_cached', 'free KV blocks still holding a reusable prefix-cache entry', ['pool']),
  sequences: gauge('llm_kv_sequences', 'live sequences', ['pool']),
  hitRate: gauge('llm_kv_prefix_hit_rate', 'prompt tokens served from the prefix cache / prompt tokens looked up', ['pool']),
  fragmentation: gauge('llm_kv_internal_fragmentation_slots', 'allocated KV slots not holding a token', ['pool']),
};
const expired = counter('llm_kv_sequences_expired_total', 'sequences freed because their owner lease expired');

export class KvManagerMetrics {
  private numExpiredPublished = 0;

  /** Sets every gauge of one pool. */
  publish(poolId: string, s: KvStats): void {
    const labels = { pool: poolId };
    g.total.set(labels, s.numBlocks);
    g.used.set(labels, s.numUsedBlocks);
    g.free.set(labels, s.numFreeBlocks);
    g.cached.set(labels, s.numCachedFreeBlocks);
    g.sequences.set(labels, s.numSequences);
    g.hitRate.set(labels, s.prefixHitRate);
    g.fragmentation.set(labels, s.numWastedSlots);
  }

  /** Advances the expiry counter to the library's running total. */
  publishExpired(total: number): void {
    if (total > this.numExpiredPublished) expired.inc(total - this.numExpiredPublished);
    this.numExpiredPublished = total;
  }
}
