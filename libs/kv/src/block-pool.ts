/*
 * BlockPool: the physical blocks of one worker's KV cache as ids with reference counts,
 * the free queue, and the prefix cache (hash -> block id).
 *
 * Follows vLLM v1 `BlockPool` (vllm/v1/core/block_pool.py). Deliberately knows nothing
 * of sequences or tokens: KvCacheManager decides what to allocate, share and free.
 *
 * Invariants (checked by the property tests):
 *   - block 0 is the null block: never free, never handed out, never freed (a worker can
 *     pad block tables with it);
 *   - every other block is either in the free queue (refCount 0) or referenced (> 0);
 *   - a block holds at most one hash, a hash names at most one block;
 *   - a free block that still holds a hash is a cache entry: a new sequence can take it
 *     back (touch) until it reaches the head of the queue and is handed out (evicted).
 *
 * Free order (the eviction policy):
 *   HEAD [uncached freed blocks] [cached blocks, least recently freed first] TAIL
 * NOTE: vLLM appends every freed block at the tail; here blocks that hold no reusable
 * prefix go to the head, so they are reused before any cache entry is evicted.
 */
import { BlockHash } from './block-hash';
import { FreeBlockQueue } from './free-block-queue';

/** The reserved block id that no sequence ever owns. */
export const NULL_BLOCK_ID = 0;

export class BlockPool {
  private readonly refCounts: Int32Array;
  private readonly hashes: (BlockHash | undefined)[];
  private readonly hashToBlock = new Map<BlockHash, number>();
  private readonly freeQueue: FreeBlockQueue;
  private numCachedFree = 0;

  /** A pool of `numBlocks` physical blocks (ids 0..numBlocks-1, 0 reserved), all free. */
  constructor(readonly numBlocks: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 2) {
      throw new RangeError(`numBlocks must be an integer >= 2 (block 0 is reserved), got ${numBlocks}`);
    }
    this.refCounts = new Int32Array(numBlocks);
    this.hashes = new Array<BlockHash | undefined>(numBlocks).fill(undefined);
    this.freeQueue = new FreeBlockQueue(numBlocks);
    this.reset();
  }

  /** Blocks a sequence can ever use: all but the null block. */
  get numUsableBlocks(): number {
    return this.numBlocks - 1;
  }

  /** Blocks in the free queue, cached or not (what `allocate` can hand out). */
  get numFreeBlocks(): number {
    return this.freeQueue.numFreeBlocks;
  }

  /** Blocks referenced by at least one sequence. */
  get numUsedBlocks(): number {
    return this.numUsableBlocks - this.freeQueue.numFreeBlocks;
  }

  /** Blocks that hold a prefix-cache hash, in use or free. */
  get numCachedBlocks(): number {
    return this.hashToBlock.size;
  }

  /** Free blocks that still hold a hash: reusable until evicted. */
  get numCachedFreeBlocks(): number {
    return this.numCachedFree;
  }

  refCount(blockId: number): number {
    return this.refCounts[blockId];
  }

  hashOf(blockId: number): BlockHash | undefined {
    return this.hashes[blockId];
  }

  isFree(blockId: number): boolean {
    return this.freeQueue.has(blockId);
  }

  /** The free queue, head (next to be handed out) first. O(numFreeBlocks). */
  freeBlockIds(): number[] {
    return this.freeQueue.toArray();
  }

  /** The block that caches `hash`, or -1. */
  getCachedBlock(hash: BlockHash): number {
    return this.hashToBlock.get(hash) ?? -1;
  }

  /** Takes a reference on each block, pulling free ones (prefix hits) out of the queue. */
  touch(blockIds: readonly number[]): void {
    for (const b of blockIds) {
      if (this.refCounts[b] === 0) {
        this.freeQueue.remove(b);
        if (this.hashes[b] !== undefined) this.numCachedFree--;
      }
      this.refCounts[b]++;
    }
  }

  /** `n` fresh blocks with refCount 1 (evicting their cached hashes), or null if fewer are free. */
  allocate(n: number): number[] | null {
    if (n > this.freeQueue.numFreeBlocks) return null;
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const b = this.freeQueue.popLeft();
      this.evictHash(b);
      this.refCounts[b] = 1;
      out[i] = b;
    }
    return out;
  }

  /**
   * Drops one reference on each block, in the given order. A block that reaches 0 joins
   * the free queue: at the tail if it holds a hash (so blocks freed first are evicted
   * first), at the head if not. Callers pass a sequence's blocks tail first. Returns how
   * many blocks joined the free queue.
   */
  free(blockIds: readonly number[]): number {
    let released = 0;
    for (const b of blockIds) {
      if (b === NULL_BLOCK_ID || this.refCounts[b] <= 0) {
        throw new RangeError(`block ${b} is not referenced (refCount ${this.refCounts[b]})`);
      }
      if (--this.refCounts[b] > 0) continue;
      released++;
      if (this.hashes[b] !== undefined) {
        this.freeQueue.append(b);
        this.numCachedFree++;
      } else {
        this.freeQueue.prepend(b);
      }
    }
    return released;
  }

  /**
   * Makes a full, computed block a cache entry under `hash`. Returns false (and changes
   * nothing) when the block already holds a hash or another block already caches it.
   */
  cacheBlock(blockId: number, hash: BlockHash): boolean {
    if (this.hashes[blockId] !== undefined || this.hashToBlock.has(hash)) return false;
    this.hashes[blockId] = hash;
    this.hashToBlock.set(hash, blockId);
    if (this.refCounts[blockId] === 0) this.numCachedFree++;
    return true;
  }

  /**
   * Evicts up to `n` cache entries among the free blocks, least recently used first;
   * the blocks stay free but no longer match any prefix. Returns how many were evicted.
   */
  evictCached(n: number): number {
    let evicted = 0;
    for (let b = this.freeQueue.nextOf(-1); b !== -1 && evicted < n; b = this.freeQueue.nextOf(b)) {
      if (this.hashes[b] === undefined) continue;
      this.evictHash(b);
      evicted++;
    }
    return evicted;
  }

  /** Back to the start-up state: every block free, no cache entries. */
  reset(): void {
    this.freeQueue.clear();
    this.refCounts.fill(0);
    this.hashes.fill(undefined);
    this.hashToBlock.clear();
    this.numCachedFree = 0;
    for (let b = 1; b < this.numBlocks; b++) this.freeQueue.append(b);
  }

  private evictHash(blockId: number): void {
    const h = this.hashes[blockId];
    if (h === undefined) return;
    this.hashToBlock.delete(h);
    this.hashes[blockId] = undefined;
    if (this.refCounts[blockId] === 0) this.numCachedFree--;
  }
}
