/*
 * A KvDriver over a llm.kv.v1 KvManager client (a real gRPC channel or the platform's
 * in-process transport), so libs/kv's conformance suite runs against the service. gRPC
 * status codes come back as the library's code names.
 */
import { ClientError, Status, type Client } from '@llm/platform';
import { kv } from '@llm/proto';
import type { KvDriver } from '@llm/kv/testing';

export type KvClient = Client<typeof kv.KvManagerDefinition>;

async function call<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ClientError) throw Object.assign(new Error(e.details), { code: Status[e.code] });
    throw e;
  }
}

export function clientDriver(client: KvClient, advanceClock?: (ms: number) => void): KvDriver {
  return {
    registerPool: async (poolId, numBlocks, blockSizeTokens) =>
      (await call(client.registerPool({ poolId, numBlocks, blockSizeTokens }))).existed,
    allocateSlots: async (poolId, requests, options = {}) => {
      const res = await call(
        client.allocateSlots({
          poolId,
          ownerId: options.owner ?? '',
          commitSeqIds: options.commit ?? [],
          sequences: requests.map((r) => ({
            seqId: r.seqId,
            newTokenIds: Array.from(r.newTokenIds),
            cacheSalt: r.salt ?? '',
            numTokensToCompute: r.numTokensToCompute ?? 0,
          })),
        }),
      );
      return {
        sequences: res.sequences.map((s) => ({
          seqId: s.seqId,
          ok: s.status === kv.AllocationStatus.ALLOCATION_STATUS_OK,
          blockTable: s.blockIds,
          numComputedTokens: s.numComputedTokens,
          numTokens: s.numTokens,
        })),
        copies: res.copies.map((c) => ({ src: c.srcBlockId, dst: c.dstBlockId })),
      };
    },
    free: async (poolId, seqIds) => (await call(client.free({ poolId, seqIds }))).numBlocksReleased,
    fork: async (poolId, parentSeqId, childSeqIds, owner) =>
      (await call(client.fork({ poolId, parentSeqId, childSeqIds, ownerId: owner ?? '' }))).blockIds,
    getBlockTable: async (poolId, seqId) => {
      const r = await call(client.getBlockTable({ poolId, seqId }));
      return { blockTable: r.blockIds, numTokens: r.numTokens, numComputedTokens: r.numComputedTokens };
    },
    stats: async (poolId) => {
      const s = await call(client.stats({ poolId }));
      return {
        blockSize: s.blockSizeTokens,
        numBlocks: s.numBlocks,
        numUsedBlocks: s.numUsedBlocks,
        numFreeBlocks: s.numFreeBlocks,
        numCachedFreeBlocks: s.numCachedBlocks,
        numSequences: s.numSequences,
        numWastedSlots: s.internalFragmentationSlots,
        prefixHitRate: s.prefixHitRate,
      };
    },
    reset: async (poolId) => (await call(client.reset({ poolId }))).numSequencesFreed,
    renewLease: async (ownerId, ttlMs) => (await call(client.renewLease({ ownerId, ttlMs }))).numSequencesExpiredTotal,
    advanceClock,
  };
}
