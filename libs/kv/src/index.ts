/*
 * @llm/kv: the paged KV-block allocator (PagedAttention's block tables, vLLM v1's block
 * pool with prefix caching and copy-on-write), as a pure library: plain ids and counts
 * in and out, no transport. apps/kv-manager serves it over gRPC.
 */
export { KvError } from './errors';
export type { KvErrorCode } from './errors';
export { FreeBlockQueue } from './free-block-queue';
export { hashBlock, hashFullBlocks } from './block-hash';
export type { BlockHash } from './block-hash';
export { BlockPool, NULL_BLOCK_ID } from './block-pool';
export { KvCacheManager, MAX_NUM_BLOCKS, MAX_BLOCK_SIZE } from './kv-cache-manager';
export type { AllocateOptions, OwnerOption, ForkOptions, BlockTableInfo } from './kv-cache-manager';
export { KvPools, sumStats } from './kv-pools';
export type { KvPoolsOptions, ExpiredLease } from './kv-pools';
export type { KvPoolConfig, SlotRequest, BlockCopy, SlotAllocation, KvStats, KvCounts } from './types';
export { poolMapOf, blockState, DEFAULT_MAX_POOL_RUNS } from './pool-map';
export type { PoolRun, BlockStateName, BlockStates } from './pool-map';
