/*
 * KvCacheManager: the paged KV-cache allocator of one worker's pool (PagedAttention,
 * Kwon et al. 2023, "Efficient Memory Management for Large Language Model Serving with
 * PagedAttention"), with prefix caching and copy-on-write, layered as vLLM v1's
 * `KVCacheManager` over `BlockPool` over `FreeBlockQueue`.
 *
 * It owns which physical block holds which tokens; it deliberately holds no K/V memory
 * (the worker does) and makes no scheduling decision (the scheduler does).
 */
import { BlockPool } from './block-pool';
import { invalidArgument, failedPrecondition } from './errors';
import { poolMapOf, type PoolRun } from './pool-map';
import { checkRequests } from './request-checks';
import { Sequence, appendTokenHashes, blocksFor, checkSeqId, forkSequence, newSequence } from './sequence';
import { SequenceRegistry } from './sequence-registry';
import { BlockCopy, KvCounts, KvPoolConfig, KvStats, SlotAllocation, SlotRequest } from './types';

/** Largest pool: 2^22 blocks keeps the per-block arrays near 100 MB. */
export const MAX_NUM_BLOCKS = 1 << 22;
/** Largest block: far above any kernel's tile (vLLM uses 16 by default). */
export const MAX_BLOCK_SIZE = 1 << 16;

/** Who is calling: when set, it must be the owner of every sequence the call names. */
export interface OwnerOption {
  owner?: string;
}

/** Options of allocateSlots. */
export interface AllocateOptions extends OwnerOption {
  /** Sequences whose previous step succeeded: committed before this call's tokens are appended. */
  commit?: readonly string[];
}

/** Options of fork. */
export interface ForkOptions extends OwnerOption {
  /** Owner of the children (default: the parent's owner). */
  childOwner?: string;
}

/** A sequence's table as GetBlockTable reports it. */
export interface BlockTableInfo {
  seqId: string;
  owner: string;
  blockTable: number[];
  numTokens: number;
  numComputedTokens: number;
}

/**
 * The per-step protocol (the scheduler relies on exactly this):
 *
 * 1. `allocateSlots(requests, { owner, commit })` once per step for the whole batch.
 *    - `commit` first: each listed sequence's previous step succeeded, so its full blocks
 *      below numComputedTokens become prefix-cache entries. A filled block is never
 *      shared before the step that wrote it is committed, so a failed step can never leak
 *      unwritten K/V to another sequence. Ids freed since are skipped.
 *    - then each request in order. `newTokenIds` are appended; slots are allocated for
 *      the next `numTokensToCompute` uncomputed tokens (default all), which this step
 *      computes: the result's numComputedTokens says where it starts. A new sequence
 *      first looks its prompt up in the prefix cache: it reuses the longest run of
 *      cached full blocks, never the block holding its last token (that token must be
 *      recomputed for its logits). If the step writes into a partial block shared with
 *      a fork, the block is copied first: `copies` says {src, dst} for the worker.
 *    - out of blocks is an answer: the first request that does not fit, and every one
 *      after it, comes back `ok: false` with nothing changed (not even its tokens
 *      appended), so the scheduler can preempt its newest sequences and retry.
 *      Requests are served in the order given, the scheduler's priority order.
 * 2. the worker applies `copies`, then writes the K/V of token t of a sequence into
 *    slot t % BS of block blockTable[floor(t / BS)].
 * 3. `free(seqIds)` for finished or preempted sequences; `fork(parent, children)` for
 *    parallel sampling and beams (children share every block until they write).
 *
 *   seq A (37 tokens) |b12 full|b4 full|b31 5/16|      fork A -> A'
 *   seq A'            |b12     |b4     |b31     |      refCount(b12, b4, b31) = 2
 *   A' computes 1 more token -> b31 is shared and partial: copy b31 -> b40, A' = |b12|b4|b40|
 *
 * NOTE: numComputedTokens advances when a step is scheduled, as in vLLM; a scheduler
 * whose step failed frees the sequence and re-admits it (recompute) rather than retry.
 *
 * Misuse (unknown or duplicate ids, double free, impossible sizes, another owner's
 * sequence) throws KvError before anything changes, so the pool stays consistent.
 */
export class KvCacheManager {
  readonly blockSize: number;
  readonly enablePrefixCaching: boolean;
  private readonly pool: BlockPool;
  private readonly seqs = new SequenceRegistry();
  /** Token slots holding computed (or scheduled) K/V in each physical block. */
  private readonly blockFill: Int32Array;
  private numQueryTokens = 0;
  private numHitTokens = 0;

  constructor(config: KvPoolConfig) {
    const { numBlocks, blockSize } = config ?? ({} as KvPoolConfig);
    if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
      throw invalidArgument(`blockSize must be an integer number of tokens in 1..${MAX_BLOCK_SIZE}, got ${blockSize}`);
    }
    if (!Number.isInteger(numBlocks) || numBlocks < 2 || numBlocks > MAX_NUM_BLOCKS) {
      throw invalidArgument(
        `numBlocks must be an integer in 2..${MAX_NUM_BLOCKS} (block 0 is reserved; use larger blocks for more), got ${numBlocks}`,
      );
    }
    this.blockSize = blockSize;
    this.enablePrefixCaching = config.enablePrefixCaching ?? true;
    this.pool = new BlockPool(numBlocks);
    this.blockFill = new Int32Array(numBlocks);
  }

  /** Physical blocks including the null block 0. */
  get numBlocks(): number {
    return this.pool.numBlocks;
  }

  get numSequences(): number {
    return this.seqs.size;
  }

  /** Serves one scheduler step for a batch; see the class doc for the exact semantics. */
  allocateSlots(requests: readonly SlotRequest[], options: AllocateOptions = {}): SlotAllocation[] {
    const commits = this.checkCommits(options.commit ?? [], options.owner);
    const shape = { blockSize: this.blockSize, numUsableBlocks: this.pool.numUsableBlocks };
    const isNew = checkRequests(requests, this.seqs, options.owner, shape);
    for (const seq of commits) this.commitOne(seq);
    const out: SlotAllocation[] = [];
    let blocked = false;
    requests.forEach((r, i) => {
      const res: SlotAllocation = blocked
        ? this.refused(r, isNew[i])
        : isNew[i]
          ? this.allocateNew(r, options.owner ?? '')
          : this.append(r);
      blocked = !res.ok;
      out.push(res);
    });
    return out;
  }

  /** Caches the full computed blocks of sequences whose step succeeded (allocateSlots' `commit`). */
  commit(seqIds: readonly string[], options: OwnerOption = {}): void {
    for (const seq of this.checkCommits(seqIds, options.owner)) this.commitOne(seq);
  }

  /** Releases sequences (their cached blocks stay reusable); returns how many blocks became free. */
  free(seqIds: readonly string[], options: OwnerOption = {}): number {
    const seqs = this.seqs.lookupAll(seqIds, 'seqIds', options.owner);
    let released = 0;
    for (const seq of seqs) released += this.release(seq);
    return released;
  }

  /** Frees every sequence of `owner` because its lease expired; returns their ids. */
  freeExpiredOwner(owner: string): string[] {
    const ids = this.seqs.ofOwner(owner);
    for (const id of ids) this.release(this.seqs.get(id) as Sequence, owner);
    return ids;
  }

  /** Children that share every block of `parentId` (copy-on-write on their first write). */
  fork(parentId: string, childIds: readonly string[], options: ForkOptions = {}): SlotAllocation[] {
    const [parent] = this.seqs.lookupAll([parentId], 'parentSeqId', options.owner);
    if (!Array.isArray(childIds) || childIds.length === 0) {
      throw invalidArgument(`fork of sequence ${parentId}: childSeqIds must list at least one new sequence id`);
    }
    const seen = new Set<string>([parentId]);
    childIds.forEach((id, i) => {
      checkSeqId(id, `childSeqIds[${i}]`);
      if (seen.has(id)) throw invalidArgument(`fork of sequence ${parentId}: child id ${id} is repeated or is the parent`);
      if (this.seqs.has(id)) throw failedPrecondition(`fork of sequence ${parentId}: sequence ${id} already exists`);
      seen.add(id);
    });
    const childOwner = options.childOwner || parent.owner;
    return childIds.map((id) => {
      const child = forkSequence(parent, id, childOwner);
      this.pool.touch(child.blockTable);
      this.seqs.add(child);
      return this.allocation(child, true, child.numComputedTokens, 0, []);
    });
  }

  getBlockTable(seqId: string, options: OwnerOption = {}): BlockTableInfo {
    const [seq] = this.seqs.lookupAll([seqId], 'seqId', options.owner);
    const { owner, numTokens, numComputedTokens } = seq;
    return { seqId, owner, blockTable: seq.blockTable.slice(), numTokens, numComputedTokens };
  }

  /** Ids of the live sequences, in creation order. */
  sequenceIds(): string[] {
    return this.seqs.ids();
  }

  /** Drops up to `n` cache entries of free blocks, LRU first; returns how many. */
  evictCached(n: number): number {
    if (!Number.isInteger(n) || n < 0) throw invalidArgument(`evict count must be a non-negative integer, got ${n}`);
    return this.pool.evictCached(n);
  }

  /** Frees every sequence and empties the prefix cache and its counters; returns how many sequences. */
  reset(): number {
    const n = this.seqs.size;
    this.seqs.clear();
    this.pool.reset();
    this.blockFill.fill(0);
    this.numQueryTokens = 0;
    this.numHitTokens = 0;
    return n;
  }

  /** The O(1) counts (stats() walks every block for its slot numbers; this does not). */
  counts(): KvCounts {
    const p = this.pool;
    return {
      numBlocks: p.numUsableBlocks,
      numUsedBlocks: p.numUsedBlocks,
      numFreeBlocks: p.numFreeBlocks,
      numCachedFreeBlocks: p.numCachedFreeBlocks,
      numSequences: this.seqs.size,
      numQueryTokens: this.numQueryTokens,
      numHitTokens: this.numHitTokens,
    };
  }

  stats(): KvStats {
    const p = this.pool;
    let numUsedSlots = 0;
    for (let b = 1; b < p.numBlocks; b++) if (p.refCount(b) > 0) numUsedSlots += this.blockFill[b];
    const numAllocatedSlots = p.numUsedBlocks * this.blockSize;
    return {
      blockSize: this.blockSize,
      numBlocks: p.numUsableBlocks,
      numUsedBlocks: p.numUsedBlocks,
      numFreeBlocks: p.numFreeBlocks,
      numCachedBlocks: p.numCachedBlocks,
      numCachedFreeBlocks: p.numCachedFreeBlocks,
      numSequences: this.seqs.size,
      numAllocatedSlots,
      numUsedSlots,
      numWastedSlots: numAllocatedSlots - numUsedSlots,
      numQueryTokens: this.numQueryTokens,
      numHitTokens: this.numHitTokens,
      prefixHitRate: this.numQueryTokens === 0 ? 0 : this.numHitTokens / this.numQueryTokens,
    };
  }

  /** Every block's state, run-length encoded from block 1 (the internals trace). O(numBlocks). */
  poolMap(maxRuns?: number): PoolRun[] {
    return poolMapOf(this.pool, maxRuns);
  }

  /** Ref counts, the free queue (head first) and cached blocks, for invariant checks. O(numBlocks). */
  snapshotBlocks(): { refCounts: number[]; freeBlockIds: number[]; cachedBlockIds: number[] } {
    const refCounts: number[] = [];
    const cachedBlockIds: number[] = [];
    for (let b = 0; b < this.pool.numBlocks; b++) {
      refCounts.push(this.pool.refCount(b));
      if (this.pool.hashOf(b) !== undefined) cachedBlockIds.push(b);
    }
    return { refCounts, freeBlockIds: this.pool.freeBlockIds(), cachedBlockIds };
  }

  // ---- one request ----

  private allocateNew(r: SlotRequest, owner: string): SlotAllocation {
    const n = r.newTokenIds.length;
    const seq = newSequence(r.seqId, owner, r.salt || undefined);
    if (this.enablePrefixCaching) appendTokenHashes(seq, r.newTokenIds, this.blockSize);
    const hits = this.cachedPrefix(seq, n);
    const before = hits.length * this.blockSize;
    const after = before + toCompute(r, n - before);
    let numHitFree = 0;
    for (const b of hits) if (this.pool.isFree(b)) numHitFree++;
    const numFresh = blocksFor(after, this.blockSize) - hits.length;
    if (numFresh > this.pool.numFreeBlocks - numHitFree) return this.refused(r, true);
    this.pool.touch(hits);
    seq.blockTable = hits.concat(this.pool.allocate(numFresh) as number[]);
    seq.numTokens = n;
    seq.numComputedTokens = after;
    seq.numCommittedBlocks = hits.length;
    this.writeFill(seq, before, after);
    this.seqs.add(seq);
    this.numQueryTokens += n;
    this.numHitTokens += before;
    return this.allocation(seq, true, before, after - before, []);
  }

  /** Cached blocks matching the leading full blocks, never the one holding token n-1. */
  private cachedPrefix(seq: Sequence, n: number): number[] {
    const maxBlocks = Math.min(Math.floor((n - 1) / this.blockSize), seq.blockHashes.length);
    const hits: number[] = [];
    for (let i = 0; i < maxBlocks; i++) {
      const b = this.pool.getCachedBlock(seq.blockHashes[i]);
      if (b < 0) break;
      hits.push(b);
    }
    return hits;
  }

  /**
   * Appends to a known sequence. With speculative decoding the table may end in lookahead
   * blocks: the accepted draft tokens' slots are kept (they become computed), blocks past
   * them are dropped (they held only rejected drafts and were never hashed), then the table
   * grows for this step's tokens plus any lookahead asked for, granted only if it fits.
   *
   *   before: | computed .....|d1 d2 d3 d4 |       lookahead 4, accepted 2 (+1 bonus token)
   *   after:  | computed ..... d1 d2|b  la la la|   keep d1 d2, schedule b, new lookahead
   */
  private append(r: SlotRequest): SlotAllocation {
    const seq = this.seqs.get(r.seqId) as Sequence;
    const bs = this.blockSize;
    const before = seq.numComputedTokens + (r.numAcceptedLookaheadTokens ?? 0);
    const numTokens = seq.numTokens + r.newTokenIds.length;
    const after = before + toCompute(r, numTokens - before);
    const table = seq.blockTable;
    const keep = Math.min(table.length, blocksFor(before, bs)); // blocks holding computed slots
    const numDropped = table.length - keep; // lookahead-only blocks: private, unhashed
    const cow = after > before && before % bs !== 0 && this.pool.refCount(table[keep - 1]) > 1;
    const numFresh = Math.max(0, blocksFor(after, bs) - keep);
    const free = this.pool.numFreeBlocks + numDropped;
    if (numFresh + (cow ? 1 : 0) > free) return this.refused(r, false);
    const wanted = r.numLookaheadTokens ?? 0;
    const numExtra = Math.max(0, blocksFor(after + wanted, bs) - keep) - numFresh;
    const lookahead = wanted > 0 && numFresh + numExtra + (cow ? 1 : 0) <= free ? wanted : 0;
    if (numDropped > 0) this.pool.free(table.splice(keep).reverse());
    const copies = cow ? [this.copyOnWrite(seq)] : [];
    for (const b of this.pool.allocate(Math.max(0, blocksFor(after + lookahead, bs) - table.length)) as number[]) table.push(b);
    if (this.enablePrefixCaching) appendTokenHashes(seq, r.newTokenIds, bs);
    seq.numTokens = numTokens;
    seq.numComputedTokens = after;
    seq.numLookaheadSlots = lookahead;
    this.writeFill(seq, before - (r.numAcceptedLookaheadTokens ?? 0), after);
    const res = this.allocation(seq, true, before, after - before, copies);
    if (lookahead > 0) res.numLookaheadTokens = lookahead;
    return res;
  }

  /** Replaces the shared partial last block by a private copy. */
  private copyOnWrite(seq: Sequence): BlockCopy {
    const i = seq.blockTable.length - 1;
    const src = seq.blockTable[i];
    const [dst] = this.pool.allocate(1) as number[];
    this.blockFill[dst] = this.blockFill[src];
    this.pool.free([src]);
    seq.blockTable[i] = dst;
    return { src, dst };
  }

  private commitOne(seq: Sequence): void {
    const upTo = Math.min(Math.floor(seq.numComputedTokens / this.blockSize), seq.blockHashes.length);
    for (let i = seq.numCommittedBlocks; i < upTo; i++) this.pool.cacheBlock(seq.blockTable[i], seq.blockHashes[i]);
    seq.numCommittedBlocks = Math.max(seq.numCommittedBlocks, upTo);
  }

  // ---- bookkeeping ----

  /** Live sequences to commit; ids freed since their step are dropped, unknown ids throw. */
  private checkCommits(seqIds: readonly string[], owner: string | undefined): Sequence[] {
    if (!Array.isArray(seqIds)) throw invalidArgument('commit must be an array of sequence ids');
    const live = seqIds.filter((id, i) => {
      checkSeqId(id, `commit[${i}]`);
      return !this.seqs.wasFreed(id);
    });
    return this.seqs.lookupAll(live, 'commit', owner);
  }

  /** Records fill counts for the slots of tokens [from, to). */
  private writeFill(seq: Sequence, from: number, to: number): void {
    const bs = this.blockSize;
    for (let i = Math.floor(from / bs); i * bs < to && i < seq.blockTable.length; i++) this.blockFill[seq.blockTable[i]] = Math.min(bs, to - i * bs);
  }

  private release(seq: Sequence, expiredOwner?: string): number {
    this.seqs.remove(seq, expiredOwner);
    return this.pool.free(seq.blockTable.slice().reverse());
  }

  private refused(r: SlotRequest, isNew: boolean): SlotAllocation {
    const seq = isNew ? undefined : this.seqs.get(r.seqId);
    if (!seq) {
      return { seqId: r.seqId, ok: false, blockTable: [], numTokens: 0, numComputedTokens: 0, numScheduledTokens: 0, copies: [] };
    }
    return this.allocation(seq, false, seq.numComputedTokens, 0, []);
  }

  private allocation(seq: Sequence, ok: boolean, numComputed: number, numScheduled: number, copies: BlockCopy[]): SlotAllocation {
    return {
      seqId: seq.seqId,
      ok,
      blockTable: seq.blockTable.slice(),
      numTokens: seq.numTokens,
      numComputedTokens: numComputed,
      numScheduledTokens: numScheduled,
      copies,
    };
  }
}

/** Tokens this step computes: all `available` ones, or at most `numTokensToCompute` when set. */
function toCompute(r: SlotRequest, available: number): number {
  return r.numTokensToCompute ? Math.min(r.numTokensToCompute, available) : available;
}
