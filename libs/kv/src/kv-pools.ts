/*
 * KvPools: the kv-manager's state, one KvCacheManager per worker (registered under the
 * worker's id with its numBlocks and blockSize), plus owner leases.
 *
 * Leases are opt-in, per owner (a scheduler's id), across all pools: `renewLease(owner,
 * ttlMs)` starts or extends one, and any later call naming that owner extends it by the
 * same TTL (activity proves the scheduler alive). When a lease runs out the scheduler is
 * presumed dead and every sequence it owns, in every pool, is freed (`expireLeases`, run
 * before each call and on the service's timer). Owners that never took a lease (the
 * embedded scheduler, tests) never expire.
 *
 * Deliberately no transport and no timers of its own: the clock is injected (`now`), so
 * tests move time by hand and the service decides how often to sweep.
 */
import { invalidArgument, notFound } from './errors';
import { BlockTableInfo, ForkOptions, KvCacheManager } from './kv-cache-manager';
import { KvPoolConfig, KvStats, SlotAllocation, SlotRequest } from './types';
import type { PoolRun } from './pool-map';

export interface KvPoolsOptions {
  /** Milliseconds clock (default Date.now). */
  now?: () => number;
}

/** Sequences freed because their owner's lease ran out. */
export interface ExpiredLease {
  owner: string;
  /** poolId -> freed sequence ids. */
  seqIds: Map<string, string[]>;
}

interface Lease {
  ttlMs: number;
  expiresAtMs: number;
}

export class KvPools {
  private readonly pools = new Map<string, KvCacheManager>();
  private readonly leases = new Map<string, Lease>();
  private readonly now: () => number;
  /** Sequences freed by lease expiry since start-up. */
  numSequencesExpiredTotal = 0;

  constructor(options: KvPoolsOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Registers a worker's pool. Registering again with the same shape keeps its state and
   * returns true ("existed"); a new shape replaces the pool and everything in it (the
   * worker's memory behind the old blocks is gone) and returns false.
   */
  registerPool(poolId: string, config: KvPoolConfig): boolean {
    checkPoolId(poolId);
    const existing = this.pools.get(poolId);
    if (existing && sameShape(existing, config)) return true;
    this.pools.set(poolId, new KvCacheManager(config));
    return false;
  }

  /** Removes a pool and everything in it. */
  unregisterPool(poolId: string): void {
    this.pool(poolId);
    this.pools.delete(poolId);
  }

  poolIds(): string[] {
    return [...this.pools.keys()];
  }

  /** The manager of one pool; NOT_FOUND names the pool when it is not registered. */
  pool(poolId: string): KvCacheManager {
    checkPoolId(poolId);
    const p = this.pools.get(poolId);
    if (!p) {
      const known = this.poolIds().join(', ') || 'none';
      throw notFound(`pool ${poolId} is not registered (registered: ${known}); the worker registers it at start-up`);
    }
    return p;
  }

  allocateSlots(
    poolId: string,
    requests: readonly SlotRequest[],
    options: { owner?: string; commit?: readonly string[] } = {},
  ): SlotAllocation[] {
    return this.enter(poolId, options.owner).allocateSlots(requests, options);
  }

  commit(poolId: string, seqIds: readonly string[], owner?: string): void {
    this.enter(poolId, owner).commit(seqIds, { owner });
  }

  /** Returns how many blocks became free. */
  free(poolId: string, seqIds: readonly string[], owner?: string): number {
    return this.enter(poolId, owner).free(seqIds, { owner });
  }

  fork(poolId: string, parentId: string, childIds: readonly string[], options: ForkOptions = {}): SlotAllocation[] {
    return this.enter(poolId, options.owner ?? options.childOwner).fork(parentId, childIds, options);
  }

  getBlockTable(poolId: string, seqId: string, owner?: string): BlockTableInfo {
    return this.enter(poolId, owner).getBlockTable(seqId, { owner });
  }

  /** One pool's block states, run-length encoded (see pool-map.ts). */
  poolMap(poolId: string, maxRuns?: number): PoolRun[] {
    return this.pool(poolId).poolMap(maxRuns);
  }

  /** One pool's stats. */
  stats(poolId: string): KvStats {
    return this.enter(poolId, undefined).stats();
  }

  /** Every pool's stats summed (the hit rate is recomputed from the summed counts). */
  statsAll(): KvStats {
    this.expireLeases();
    return sumStats([...this.pools.values()].map((p) => p.stats()));
  }

  /** Frees every sequence and the prefix cache of one pool; returns how many sequences. */
  reset(poolId: string): number {
    return this.enter(poolId, undefined).reset();
  }

  /** Starts or extends `owner`'s lease to now + ttlMs; returns numSequencesExpiredTotal. */
  renewLease(owner: string, ttlMs: number): number {
    if (typeof owner !== 'string' || owner.length === 0) {
      throw invalidArgument(`lease owner must be a non-empty owner id, got ${JSON.stringify(owner)}`);
    }
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw invalidArgument(`lease ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
    }
    this.expireLeases();
    this.leases.set(owner, { ttlMs, expiresAtMs: this.now() + ttlMs });
    return this.numSequencesExpiredTotal;
  }

  /** Expiry time of `owner`'s lease on the injected clock, or undefined without one. */
  leaseExpiry(owner: string): number | undefined {
    return this.leases.get(owner)?.expiresAtMs;
  }

  /** Frees the sequences of every owner whose lease has run out; returns what was freed. */
  expireLeases(): ExpiredLease[] {
    const t = this.now();
    const out: ExpiredLease[] = [];
    for (const [owner, lease] of this.leases) {
      if (lease.expiresAtMs > t) continue;
      this.leases.delete(owner);
      const seqIds = new Map<string, string[]>();
      for (const [poolId, p] of this.pools) {
        const ids = p.freeExpiredOwner(owner);
        if (ids.length > 0) seqIds.set(poolId, ids);
        this.numSequencesExpiredTotal += ids.length;
      }
      out.push({ owner, seqIds });
    }
    return out;
  }

  /** Sweeps expired leases, finds the pool and extends the caller's lease if it has one. */
  private enter(poolId: string, owner: string | undefined): KvCacheManager {
    if (owner !== undefined && typeof owner !== 'string') {
      throw invalidArgument(`owner must be a string owner id, got ${JSON.stringify(owner)}`);
    }
    const p = this.pool(poolId);
    this.expireLeases();
    const lease = owner ? this.leases.get(owner) : undefined;
    if (lease) lease.expiresAtMs = this.now() + lease.ttlMs;
    return p;
  }
}

function sameShape(p: KvCacheManager, c: KvPoolConfig): boolean {
  return p.numBlocks === c?.numBlocks && p.blockSize === c?.blockSize && p.enablePrefixCaching === (c.enablePrefixCaching ?? true);
}

function checkPoolId(poolId: unknown): void {
  if (typeof poolId !== 'string' || poolId.length === 0) {
    throw invalidArgument(`pool id must be a non-empty worker id string, got ${JSON.stringify(poolId)}`);
  }
}

/** Field-wise sum of several pools' stats; blockSize is 0 when the pools differ. */
export function sumStats(all: readonly KvStats[]): KvStats {
  const total: KvStats = {
    blockSize: all.length > 0 && all.every((s) => s.blockSize === all[0].blockSize) ? all[0].blockSize : 0,
    numBlocks: 0,
    numUsedBlocks: 0,
    numFreeBlocks: 0,
    numCachedBlocks: 0,
    numCachedFreeBlocks: 0,
    numSequences: 0,
    numAllocatedSlots: 0,
    numUsedSlots: 0,
    numWastedSlots: 0,
    numQueryTokens: 0,
    numHitTokens: 0,
    prefixHitRate: 0,
  };
  const summed = ['numBlocks', 'numUsedBlocks', 'numFreeBlocks', 'numCachedBlocks', 'numCachedFreeBlocks', 'numSequences',
    'numAllocatedSlots', 'numUsedSlots', 'numWastedSlots', 'numQueryTokens', 'numHitTokens'] as const;
  for (const s of all) for (const k of summed) total[k] += s[k];
  total.prefixHitRate = total.numQueryTokens === 0 ? 0 : total.numHitTokens / total.numQueryTokens;
  return total;
}
