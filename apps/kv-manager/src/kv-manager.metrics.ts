/*
 * The kv-manager's Prometheus metrics, one series per pool (label `pool`: the worker's id, vLLM's
 * engine). The kv-manager owns which block holds what, so the KV figures are its own: set after
 * every call that can change a pool (AllocateSlots, Free, Fork, Reset, RegisterPool, RenewLease
 * and the lease sweep), from the library's O(1) counts, never on a timer:
 *
 *   llm_kv_cache_usage_perc{pool}          used / usable blocks, 0..1 (vLLM: kv_cache_usage_perc;
 *                                          free blocks holding a cached prefix count as free)
 *   llm_kv_blocks_capacity{pool}           usable blocks (the null block excluded)
 *   llm_kv_blocks_used{pool}               blocks referenced by at least one sequence
 *   llm_kv_blocks_free{pool}               blocks on the free queue, cached ones included
 *   llm_kv_blocks_cached{pool}             free blocks still holding a reusable prefix
 *   llm_kv_sequences{pool}                 live sequences
 *   llm_prefix_cache_queries_total{pool}   prompt tokens looked up in the prefix cache (vLLM: prefix_cache_queries)
 *   llm_prefix_cache_hits_total{pool}      of those, tokens found (vLLM: prefix_cache_hits)
 *   llm_kv_sequences_expired_total         sequences freed because their owner's lease ran out
 *   llm_kv_internal_fragmentation_slots{pool}  allocated slots holding no token (walks the pool:
 *                                          computed when /metrics is scraped, not per call)
 *
 * What it is not: the worker's physical pool (llm_worker_kv_pool_blocks) or the schedulers' queues.
 */
import { counter, gauge } from '@llm/platform';
import type { KvCounts, KvPools } from '@llm/kv';

const LABELS = ['pool'];
/** Every kv-manager in this process (tests and embedded mode compose several), for scrape-time gauges. */
const instances = new Set<KvManagerMetrics>();

const families = () => ({
  usage: gauge('llm_kv_cache_usage_perc', 'KV-cache usage: used / usable blocks (1 means full).', LABELS),
  capacity: gauge('llm_kv_blocks_capacity', 'Usable KV blocks in the pool (the null block excluded).', LABELS),
  used: gauge('llm_kv_blocks_used', 'KV blocks referenced by at least one sequence.', LABELS),
  free: gauge('llm_kv_blocks_free', 'KV blocks on the free queue (cached ones included).', LABELS),
  cached: gauge('llm_kv_blocks_cached', 'Free KV blocks still holding a reusable prefix-cache entry.', LABELS),
  sequences: gauge('llm_kv_sequences', 'Live sequences.', LABELS),
  queries: counter('llm_prefix_cache_queries_total', 'Prompt tokens looked up in the prefix cache.', LABELS),
  hits: counter('llm_prefix_cache_hits_total', 'Prompt tokens served from the prefix cache.', LABELS),
  expired: counter('llm_kv_sequences_expired_total', "Sequences freed because their owner's lease expired."),
  fragmentation: gauge('llm_kv_internal_fragmentation_slots', 'Allocated KV slots not holding a token (computed at scrape).', LABELS, function collect() {
    for (const m of instances) m.collectFragmentation(this);
  }),
});

export class KvManagerMetrics {
  private readonly f = families();
  /** Query and hit tokens already counted, per pool (the library's totals restart on reset). */
  private readonly counted = new Map<string, { queries: number; hits: number }>();
  private numExpiredPublished = 0;

  constructor(private readonly pools: KvPools) {
    instances.add(this);
  }

  /** Sets every pool's gauges and advances the counters to the library's totals. */
  publish(): void {
    for (const id of this.pools.poolIds()) this.publishPool(id, this.pools.pool(id).counts());
    const total = this.pools.numSequencesExpiredTotal;
    if (total > this.numExpiredPublished) this.f.expired.inc(total - this.numExpiredPublished);
    this.numExpiredPublished = total;
  }

  private publishPool(pool: string, c: KvCounts): void {
    const labels = { pool };
    this.f.usage.set(labels, c.numBlocks === 0 ? 0 : c.numUsedBlocks / c.numBlocks);
    this.f.capacity.set(labels, c.numBlocks);
    this.f.used.set(labels, c.numUsedBlocks);
    this.f.free.set(labels, c.numFreeBlocks);
    this.f.cached.set(labels, c.numCachedFreeBlocks);
    this.f.sequences.set(labels, c.numSequences);
    const before = this.counted.get(pool) ?? { queries: 0, hits: 0 };
    // A reset (or a re-registered pool) restarts the library's totals: count from zero again.
    const q = c.numQueryTokens >= before.queries ? c.numQueryTokens - before.queries : c.numQueryTokens;
    const h = c.numHitTokens >= before.hits ? c.numHitTokens - before.hits : c.numHitTokens;
    this.f.queries.inc(labels, q); // by 0 too: a pool's series exist from its registration
    this.f.hits.inc(labels, h);
    this.counted.set(pool, { queries: c.numQueryTokens, hits: c.numHitTokens });
  }

  /** Scrape time: each pool's wasted slots (a walk over its blocks). */
  collectFragmentation(g: ReturnType<typeof gauge>): void {
    for (const id of this.pools.poolIds()) g.set({ pool: id }, this.pools.pool(id).stats().numWastedSlots);
  }

  /** Stops reporting (the service shut down). */
  close(): void {
    instances.delete(this);
  }
}
