/*
 * FreeBlockQueue: the free physical blocks of one pool as an intrusive doubly-linked list
 * over block ids, with O(1) pop from the head, push at either end, and removal from the
 * middle (a freed block that still holds a cached prefix is taken back out when a new
 * sequence hits it).
 *
 * Follows vLLM v1 `FreeKVCacheBlockQueue` (vllm/v1/core/kv_cache_utils.py): the head is
 * the least recently used block, the next one to be handed out (and so evicted).
 * It deliberately knows nothing of hashes or ref counts; BlockPool decides the order.
 *
 * Storage is flat: `next`/`prev` are Int32Arrays indexed by block id, with two sentinel
 * slots after the real blocks, so no object is allocated per block.
 *
 *   HEAD <-> b7 <-> b3 <-> b9 <-> TAIL        popLeft() -> b7 ; remove(b3) unlinks in O(1)
 */

const NONE = -1;

export class FreeBlockQueue {
  /** How many blocks are linked in the queue now. */
  numFreeBlocks = 0;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly inQueue: Uint8Array;
  private readonly head: number;
  private readonly tail: number;

  /** An empty queue for block ids 0 .. capacity-1. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new RangeError(`FreeBlockQueue capacity must be a non-negative integer, got ${capacity}`);
    }
    this.next = new Int32Array(capacity + 2).fill(NONE);
    this.prev = new Int32Array(capacity + 2).fill(NONE);
    this.inQueue = new Uint8Array(capacity);
    this.head = capacity;
    this.tail = capacity + 1;
    this.next[this.head] = this.tail;
    this.prev[this.tail] = this.head;
  }

  /** Whether `blockId` is linked in the queue. */
  has(blockId: number): boolean {
    return this.inQueue[blockId] === 1;
  }

  /** The least recently used block, without removing it; -1 when empty. */
  peekLeft(): number {
    const first = this.next[this.head];
    return first === this.tail ? NONE : first;
  }

  /** Removes and returns the head (least recently used) block; -1 when empty. */
  popLeft(): number {
    const first = this.peekLeft();
    if (first !== NONE) this.unlink(first);
    return first;
  }

  /** Links `blockId` at the tail (most recently used: evicted last). */
  append(blockId: number): void {
    this.linkBetween(blockId, this.prev[this.tail], this.tail);
  }

  /** Links `blockId` at the head (handed out next: for blocks that hold nothing reusable). */
  prepend(blockId: number): void {
    this.linkBetween(blockId, this.head, this.next[this.head]);
  }

  /** Unlinks `blockId` from anywhere in the queue in O(1). */
  remove(blockId: number): void {
    if (!this.has(blockId)) throw new RangeError(`block ${blockId} is not in the free queue`);
    this.unlink(blockId);
  }

  /** The block after `blockId` towards the tail (or the first block for -1); -1 at the end. */
  nextOf(blockId: number): number {
    const n = this.next[blockId === NONE ? this.head : blockId];
    return n === this.tail ? NONE : n;
  }

  /** All queued block ids, head (LRU) first. O(numFreeBlocks); for stats and tests. */
  toArray(): number[] {
    const out: number[] = [];
    for (let b = this.nextOf(NONE); b !== NONE; b = this.nextOf(b)) out.push(b);
    return out;
  }

  /** Unlinks every block. */
  clear(): void {
    for (let b = this.popLeft(); b !== NONE; b = this.popLeft()) {
      /* popLeft unlinks */
    }
  }

  private linkBetween(blockId: number, before: number, after: number): void {
    if (!Number.isInteger(blockId) || blockId < 0 || blockId >= this.capacity) {
      throw new RangeError(`block id ${blockId} is outside 0..${this.capacity - 1}`);
    }
    if (this.has(blockId)) throw new RangeError(`block ${blockId} is already in the free queue`);
    this.next[before] = blockId;
    this.prev[blockId] = before;
    this.next[blockId] = after;
    this.prev[after] = blockId;
    this.inQueue[blockId] = 1;
    this.numFreeBlocks++;
  }

  private unlink(blockId: number): void {
    const before = this.prev[blockId];
    const after = this.next[blockId];
    this.next[before] = after;
    this.prev[after] = before;
    this.next[blockId] = NONE;
    this.prev[blockId] = NONE;
    this.inQueue[blockId] = 0;
    this.numFreeBlocks--;
  }
}
