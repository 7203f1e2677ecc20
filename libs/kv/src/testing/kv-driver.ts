/*
 * KvDriver: the kv-manager's operations as an async interface shaped like the gRPC
 * contract (llm.kv.v1), so one test suite runs against the library in process and
 * against the real service over gRPC. `inProcessDriver` is the library-backed one.
 * Deliberately only what the contract offers, plus optional hooks (snapshot, eviction,
 * clock) that only an in-process pool can provide.
 */
import { KvError, KvErrorCode } from '../errors';
import { KvPools } from '../kv-pools';
import { BlockCopy, KvStats, SlotRequest } from '../types';

/** One sequence's result as the contract reports it (copies are batch-wide). */
export interface DriverSlots {
  seqId: string;
  ok: boolean;
  blockTable: number[];
  numComputedTokens: number;
  numTokens: number;
}

export interface DriverAllocation {
  sequences: DriverSlots[];
  copies: BlockCopy[];
}

/** The stats fields the contract carries. */
export type DriverStats = Pick<
  KvStats,
  'blockSize' | 'numBlocks' | 'numUsedBlocks' | 'numFreeBlocks' | 'numCachedFreeBlocks' | 'numSequences' | 'numWastedSlots' | 'prefixHitRate'
>;

export interface KvDriver {
  registerPool(poolId: string, numBlocks: number, blockSize: number): Promise<boolean>;
  allocateSlots(poolId: string, requests: SlotRequest[], options?: { owner?: string; commit?: string[] }): Promise<DriverAllocation>;
  free(poolId: string, seqIds: string[]): Promise<number>;
  fork(poolId: string, parentId: string, childIds: string[], owner?: string): Promise<number[]>;
  getBlockTable(poolId: string, seqId: string): Promise<{ blockTable: number[]; numTokens: number; numComputedTokens: number }>;
  stats(poolId: string): Promise<DriverStats>;
  reset(poolId: string): Promise<number>;
  renewLease(owner: string, ttlMs: number): Promise<number>;
  /** Ref counts by block id and the free queue: only an in-process pool can show them. */
  snapshot?(poolId: string): Promise<{ refCounts: number[]; freeBlockIds: number[] }>;
  /** Evicts up to n free cache entries (no RPC does this; eviction also happens on allocation). */
  evictCached?(poolId: string, n: number): Promise<number>;
  /** Moves the service's clock forward, when the service was built on an injectable clock. */
  advanceClock?(ms: number): void;
}

/** An error as the driver reports it: a KvError code and a message. */
export interface DriverError {
  code: KvErrorCode;
  message: string;
}

/** A driver over a KvPools in this process, with a hand-moved clock. */
export function inProcessDriver(): KvDriver {
  let nowMs = 1_000_000;
  const pools = new KvPools({ now: () => nowMs });
  const call = async <T>(f: () => T): Promise<T> => {
    try {
      return f();
    } catch (e) {
      if (e instanceof KvError) throw Object.assign(new Error(e.message), { code: e.code });
      throw e;
    }
  };
  return {
    registerPool: (id, numBlocks, blockSize) => call(() => pools.registerPool(id, { numBlocks, blockSize })),
    allocateSlots: (id, requests, options = {}) =>
      call(() => {
        const res = pools.allocateSlots(id, requests, options);
        return {
          sequences: res.map(({ seqId, ok, blockTable, numComputedTokens, numTokens }) => ({ seqId, ok, blockTable, numComputedTokens, numTokens })),
          copies: res.flatMap((r) => r.copies),
        };
      }),
    free: (id, seqIds) => call(() => pools.free(id, seqIds)),
    fork: (id, parent, children, owner) =>
      call(() => {
        const res = pools.fork(id, parent, children, { childOwner: owner });
        return res[0].blockTable;
      }),
    getBlockTable: (id, seqId) =>
      call(() => {
        const { blockTable, numTokens, numComputedTokens } = pools.getBlockTable(id, seqId);
        return { blockTable, numTokens, numComputedTokens };
      }),
    stats: (id) =>
      call(() => {
        const s = pools.stats(id);
        const { blockSize, numBlocks, numUsedBlocks, numFreeBlocks, numCachedFreeBlocks, numSequences, numWastedSlots, prefixHitRate } = s;
        return { blockSize, numBlocks, numUsedBlocks, numFreeBlocks, numCachedFreeBlocks, numSequences, numWastedSlots, prefixHitRate };
      }),
    reset: (id) => call(() => pools.reset(id)),
    renewLease: (owner, ttlMs) => call(() => pools.renewLease(owner, ttlMs)),
    snapshot: (id) => call(() => pools.pool(id).snapshotBlocks()),
    evictCached: (id, n) => call(() => pools.pool(id).evictCached(n)),
    advanceClock: (ms) => {
      nowMs += ms;
    },
  };
}
