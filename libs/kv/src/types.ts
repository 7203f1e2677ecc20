/*
 * The plain-data shapes the paged allocator takes and returns: ids, counts and number
 * arrays only, so a service can turn them into protos (or a scheduler call them directly)
 * without knowing any internal class. Deliberately no behaviour here.
 */

/** The size of one pool: `numBlocks` physical blocks (block 0 reserved) of `blockSize` tokens. */
export interface KvPoolConfig {
  numBlocks: number;
  blockSize: number;
  /** Reuse computed full blocks across sequences (default true). */
  enablePrefixCaching?: boolean;
}

/** One sequence's share of an allocateSlots call. */
export interface SlotRequest {
  seqId: string;
  /** Token ids appended to the sequence by this step (the whole prompt for a new one). */
  newTokenIds: ArrayLike<number>;
  /**
   * True for a sequence the manager must not know yet (first step, or resumed after
   * preemption), false for one it must know. Unset: a known id appends, an unknown id
   * starts a new sequence (the gRPC contract's behaviour).
   */
  isNew?: boolean;
  /** Per-tenant cache salt: sequences with different salts never share a cached block. */
  salt?: string;
  /**
   * At most how many not-yet-computed tokens this step computes (chunked prefill); slots
   * are allocated for exactly those. 0 or unset: all appended tokens not yet computed.
   */
  numTokensToCompute?: number;
  /**
   * Speculative decoding: extra slots to allocate past the computed ones, for draft tokens the
   * manager is not told (the worker writes their K/V while verifying). They count as neither
   * tokens nor computed tokens and are never hashed. Granted whole or not at all (never a reason
   * to refuse the request). 0 or unset: none.
   */
  numLookaheadTokens?: number;
  /**
   * Of `newTokenIds`, how many leading ones were computed in lookahead slots of this sequence's
   * previous allocation (the accepted draft tokens): at most the lookahead granted then. Their
   * K/V is already written, so this step starts after them. 0 or unset: none.
   */
  numAcceptedLookaheadTokens?: number;
}

/** A copy-on-write instruction: the worker copies block `src` into block `dst` before writing. */
export interface BlockCopy {
  src: number;
  dst: number;
}

/** What one sequence got from allocateSlots. */
export interface SlotAllocation {
  seqId: string;
  /** False when the pool had no room: nothing about the sequence changed. */
  ok: boolean;
  /** Physical block id of each logical block, in order (unchanged when !ok). */
  blockTable: number[];
  /** Tokens the sequence holds after this call. */
  numTokens: number;
  /**
   * Leading tokens whose K/V is already in the cache, where this step starts computing:
   * the prefix hit of a new sequence (a whole-prompt hit still leaves its last token to
   * compute), or for a running sequence the tokens computed by earlier steps.
   */
  numComputedTokens: number;
  /** Tokens this step computes: slots [numComputedTokens, numComputedTokens + numScheduledTokens). */
  numScheduledTokens: number;
  /** Copies the worker applies, in order, before writing this step's K/V. */
  copies: BlockCopy[];
  /** Lookahead slots granted past the scheduled ones (0 when none were asked for or they did not fit). */
  numLookaheadTokens?: number;
}

/** A snapshot of one pool's occupancy and cache effectiveness. */
/** The counts of a pool that cost O(1) to read (KvStats without the slot walk), for per-call metrics. */
export interface KvCounts {
  /** Usable blocks (all but the null block). */
  numBlocks: number;
  numUsedBlocks: number;
  /** Free blocks, including those still holding a cached prefix. */
  numFreeBlocks: number;
  /** Free blocks holding a hash: reusable until evicted. */
  numCachedFreeBlocks: number;
  numSequences: number;
  /** Prompt tokens of new sequences looked up in the prefix cache (since the pool was made or reset). */
  numQueryTokens: number;
  /** Of those, tokens served from the cache. */
  numHitTokens: number;
}

export interface KvStats {
  blockSize: number;
  /** Usable blocks (all but the null block). */
  numBlocks: number;
  numUsedBlocks: number;
  /** Free blocks, including those still holding a cached prefix. */
  numFreeBlocks: number;
  /** Blocks holding a prefix-cache hash, used or free. */
  numCachedBlocks: number;
  /** Free blocks holding a hash: reusable until evicted (the contract's num_cached_blocks). */
  numCachedFreeBlocks: number;
  numSequences: number;
  /** numUsedBlocks * blockSize. */
  numAllocatedSlots: number;
  /** Token slots of used blocks holding computed (or scheduled) K/V; a shared block counts once. */
  numUsedSlots: number;
  /** Internal fragmentation: numAllocatedSlots - numUsedSlots. */
  numWastedSlots: number;
  /** Prompt tokens of new sequences looked up in the prefix cache. */
  numQueryTokens: number;
  /** Of those, tokens served from the cache. */
  numHitTokens: number;
  /** numHitTokens / numQueryTokens (0 before any query). */
  prefixHitRate: number;
}
