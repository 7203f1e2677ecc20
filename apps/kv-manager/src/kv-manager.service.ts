/*
 * The llm.kv.v1 KvManager handlers: thin. Each turns a proto request into one call on the
 * pure allocator (libs/kv KvPools) and the result back into a proto; the library's typed
 * KvError (code INVALID_ARGUMENT / FAILED_PRECONDITION / NOT_FOUND, message naming the
 * sequence) becomes the same gRPC status through toServerError. Out of blocks is not an
 * error: it is ALLOCATION_STATUS_OUT_OF_BLOCKS for the sequences that could not be served.
 * AllocateSlots with include_pool_map (the internals trace) also answers every block's state.
 *
 * The service also runs the lease sweeper: every `leaseSweepMs` it frees the sequences of
 * owners whose lease expired. The metrics (kv-manager.metrics.ts) are published after every call
 * and sweep, so they change when the pools do. Deliberately no state of its own.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { toServerError, type ServiceImplementation } from '@llm/platform';
import { kv, trace } from '@llm/proto';
import { KvPools, type BlockStateName, type KvStats, type PoolRun, type SlotAllocation } from '@llm/kv';
import { KvManagerMetrics } from './kv-manager.metrics';

export const KV_POOLS = Symbol('KV_POOLS');
export const KV_SWEEP_MS = Symbol('KV_SWEEP_MS');


const BLOCK_STATE: Record<BlockStateName, trace.BlockState> = {
  free: trace.BlockState.BLOCK_STATE_FREE,
  cached: trace.BlockState.BLOCK_STATE_CACHED,
  used: trace.BlockState.BLOCK_STATE_USED,
  used_cached: trace.BlockState.BLOCK_STATE_USED_CACHED,
  shared: trace.BlockState.BLOCK_STATE_SHARED,
};

/** The pool map (AllocateSlots with include_pool_map, for the internals trace). */
function poolMapProto(runs: PoolRun[]): trace.PoolRun[] {
  return runs.map((r) => ({ state: BLOCK_STATE[r.state], numBlocks: r.numBlocks }));
}

function toSlots(a: SlotAllocation): kv.SequenceSlots {
  return {
    seqId: a.seqId,
    status: a.ok ? kv.AllocationStatus.ALLOCATION_STATUS_OK : kv.AllocationStatus.ALLOCATION_STATUS_OUT_OF_BLOCKS,
    blockIds: a.blockTable,
    numComputedTokens: a.numComputedTokens,
    numTokens: a.numTokens,
    numLookaheadTokens: a.numLookaheadTokens ?? 0,
  };
}

function toStats(s: KvStats): kv.StatsResponse {
  return {
    numBlocks: s.numBlocks,
    numUsedBlocks: s.numUsedBlocks,
    numFreeBlocks: s.numFreeBlocks,
    numCachedBlocks: s.numCachedFreeBlocks,
    numSequences: s.numSequences,
    prefixHitRate: s.prefixHitRate,
    internalFragmentationSlots: s.numWastedSlots,
    blockSizeTokens: s.blockSize,
  };
}

@Injectable()
export class KvManagerService
  implements ServiceImplementation<typeof kv.KvManagerDefinition>, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly metrics: KvManagerMetrics;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(KV_POOLS) readonly pools: KvPools,
    @Inject(KV_SWEEP_MS) private readonly sweepMs: number,
  ) {
    this.metrics = new KvManagerMetrics(pools);
  }

  /** Runs a handler body, turning library errors into gRPC statuses; the metrics follow what it changed. */
  private handle<T>(body: () => T): Promise<T> {
    try {
      return Promise.resolve(body());
    } catch (err) {
      return Promise.reject(toServerError(err));
    } finally {
      this.metrics.publish();
    }
  }

  registerPool(req: kv.RegisterPoolRequest): Promise<kv.RegisterPoolResponse> {
    return this.handle(() => ({
      existed: this.pools.registerPool(req.poolId, { numBlocks: req.numBlocks, blockSize: req.blockSizeTokens }),
    }));
  }

  allocateSlots(req: kv.AllocateSlotsRequest): Promise<kv.AllocateSlotsResponse> {
    return this.handle(() => {
      const res = this.pools.allocateSlots(
        req.poolId,
        req.sequences.map((s) => ({
          seqId: s.seqId,
          newTokenIds: s.newTokenIds,
          salt: s.cacheSalt || undefined,
          numTokensToCompute: s.numTokensToCompute || undefined,
          numLookaheadTokens: s.numLookaheadTokens || undefined,
          numAcceptedLookaheadTokens: s.numAcceptedLookaheadTokens || undefined,
        })),
        { owner: req.ownerId || undefined, commit: req.commitSeqIds },
      );
      const copies = res.flatMap((a) => a.copies.map((c) => ({ srcBlockId: c.src, dstBlockId: c.dst })));
      return { sequences: res.map(toSlots), copies, poolMap: req.includePoolMap ? poolMapProto(this.pools.poolMap(req.poolId)) : [] };
    });
  }

  free(req: kv.FreeRequest): Promise<kv.FreeResponse> {
    return this.handle(() => ({ numBlocksReleased: this.pools.free(req.poolId, req.seqIds) }));
  }

  fork(req: kv.ForkRequest): Promise<kv.ForkResponse> {
    return this.handle(() => {
      const children = this.pools.fork(req.poolId, req.parentSeqId, req.childSeqIds, { childOwner: req.ownerId || undefined });
      return { blockIds: children[0].blockTable };
    });
  }

  getBlockTable(req: kv.GetBlockTableRequest): Promise<kv.GetBlockTableResponse> {
    return this.handle(() => {
      const t = this.pools.getBlockTable(req.poolId, req.seqId);
      return { blockIds: t.blockTable, numTokens: t.numTokens, numComputedTokens: t.numComputedTokens };
    });
  }

  stats(req: kv.StatsRequest): Promise<kv.StatsResponse> {
    return this.handle(() => toStats(req.poolId ? this.pools.stats(req.poolId) : this.pools.statsAll()));
  }

  reset(req: kv.ResetRequest): Promise<kv.ResetResponse> {
    return this.handle(() => ({ numSequencesFreed: this.pools.reset(req.poolId) }));
  }

  renewLease(req: kv.RenewLeaseRequest): Promise<kv.RenewLeaseResponse> {
    return this.handle(() => ({ numSequencesExpiredTotal: this.pools.renewLease(req.ownerId, req.ttlMs) }));
  }

  /** Frees expired owners' sequences (and publishes what that changed). */
  sweep(): void {
    this.pools.expireLeases();
    this.metrics.publish();
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.sweep(), this.sweepMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.metrics.close();
  }
}
