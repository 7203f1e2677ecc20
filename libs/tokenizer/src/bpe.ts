/*
 * The BPE merge loop: given the initial symbols of one pre-tokenized piece (byte or char
 * token ids), repeatedly merge the adjacent pair with the lowest rank (leftmost on ties)
 * until no adjacent pair has a rank.
 *
 * What it is: two exact implementations of that rule. Short pieces use the array scan of
 * tiktoken (O(n^2), tiny constants); long pieces use a doubly linked list plus a binary
 * min-heap keyed by (rank, position) with lazy invalidation, so the work per piece is
 * O(n log n) and a 100 MB piece without whitespace cannot go quadratic.
 * What it is not: pre-tokenization or vocabulary handling (see the tokenizers).
 * Reference: Sennrich et al. 2016 (BPE); openai/tiktoken src/lib.rs _byte_pair_merge;
 * huggingface/tokenizers models/bpe/word.rs merge_all (heap of (rank, pos)).
 */
import type { PairTable } from './pair-table';

/** Called for each merge applied: the pair, its rank, the new id and the symbol index. */
export type MergeObserver = (left: number, right: number, merged: number, rank: number, index: number) => void;

/** Pieces with at most this many symbols use the quadratic scan; longer ones the heap. */
export const HEAP_THRESHOLD = 64;

/** Work counters of the heap path (read by tests to check the O(n log n) bound). */
export const mergeStats = { heapPushes: 0, heapPops: 0 };

/** Merges `symbols` in place by rank; returns the resulting ids (a prefix of the array). */
export function mergeSymbols(symbols: number[], table: PairTable, observe?: MergeObserver): number[] {
  if (symbols.length < 2) return symbols;
  if (symbols.length <= HEAP_THRESHOLD || observe) return mergeByScan(symbols, table, observe);
  return mergeByHeap(Int32Array.from(symbols), table);
}

/** Merges a long symbol sequence held in an Int32Array (modified in place; no number[] copy). */
export function mergeIds(ids: Int32Array, table: PairTable): number[] {
  if (ids.length <= HEAP_THRESHOLD) return mergeSymbols(Array.from(ids), table);
  return mergeByHeap(ids, table);
}

/** tiktoken-style scan: ranks[i] is the rank of (symbols[i], symbols[i+1]). */
function mergeByScan(symbols: number[], table: PairTable, observe?: MergeObserver): number[] {
  let n = symbols.length;
  const ranks: number[] = new Array(n - 1);
  for (let i = 0; i < n - 1; i++) ranks[i] = pairRank(table, symbols[i], symbols[i + 1]);
  for (;;) {
    // leftmost minimum rank among adjacent pairs
    let best = -1;
    let bestRank = 0x7fffffff;
    for (let i = 0; i < n - 1; i++) {
      const r = ranks[i];
      if (r >= 0 && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) break;
    const slot = table.find(symbols[best], symbols[best + 1]);
    const merged = table.mergedAt(slot);
    if (observe) observe(symbols[best], symbols[best + 1], merged, bestRank, best);
    symbols[best] = merged;
    symbols.splice(best + 1, 1);
    ranks.splice(best, 1);
    n--;
    if (best > 0) ranks[best - 1] = pairRank(table, symbols[best - 1], merged);
    if (best < n - 1) ranks[best] = pairRank(table, merged, symbols[best + 1]);
  }
  symbols.length = n;
  return symbols;
}

function pairRank(table: PairTable, a: number, b: number): number {
  const i = table.find(a, b);
  return i < 0 ? -1 : table.rankAt(i);
}

// key = rank * 2^31 + position: exact in a double while rank < 2^22 and position < 2^31
const POS_SCALE = 2147483648;

/**
 * Heap path: linked list over the symbols, min-heap of (rank, left position).
 * rank[i] / merged[i] hold the pair (i, next[i]) as of its last change (-1: no merge), so
 * a popped entry is valid iff symbol i is alive, has a right neighbour, and rank[i] still
 * equals the entry's rank; stale entries are skipped without a table lookup.
 */
function mergeByHeap(ids: Int32Array, table: PairTable): number[] {
  const n = ids.length;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const rank = new Int32Array(n).fill(-1);
  const merged = new Int32Array(n);
  const initial = new Float64Array(n);
  let numInitial = 0;
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
    if (i + 1 < n && setPair(table, ids, rank, merged, i, i + 1)) initial[numInitial++] = rank[i] * POS_SCALE + i;
  }
  const heap = MinHeap.heapify(initial, numInitial);
  mergeStats.heapPushes += numInitial;
  while (heap.size > 0) {
    const key = heap.pop();
    mergeStats.heapPops++;
    const r = Math.floor(key / POS_SCALE);
    const i = key - r * POS_SCALE;
    const j = next[i];
    if (ids[i] < 0 || j < 0 || rank[i] !== r) continue; // stale entry
    ids[i] = merged[i];
    ids[j] = -1; // j is absorbed into i
    const k = next[j];
    next[i] = k;
    if (k >= 0) prev[k] = i;
    const p = prev[i];
    if (p >= 0 && setPair(table, ids, rank, merged, p, i)) push(heap, rank[p] * POS_SCALE + p);
    if (k >= 0) {
      if (setPair(table, ids, rank, merged, i, k)) push(heap, rank[i] * POS_SCALE + i);
    } else rank[i] = -1;
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]) out.push(ids[i]);
  return out;
}

/** Records the pair (i, j) in rank/merged; true when it merges. */
function setPair(table: PairTable, ids: Int32Array, rank: Int32Array, merged: Int32Array, i: number, j: number): boolean {
  const slot = table.find(ids[i], ids[j]);
  if (slot < 0) {
    rank[i] = -1;
    return false;
  }
  rank[i] = table.rankAt(slot);
  merged[i] = table.mergedAt(slot);
  return true;
}

function push(heap: MinHeap, key: number): void {
  heap.push(key);
  mergeStats.heapPushes++;
}

/** Binary min-heap of doubles in a flat Float64Array (grows by doubling). */
class MinHeap {
  private data: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.data = new Float64Array(Math.max(16, capacity));
  }

  /** Builds a heap from the first `size` values of `data` in O(n) (Floyd), taking ownership. */
  static heapify(data: Float64Array, size: number): MinHeap {
    const h = new MinHeap(0);
    h.data = data.length >= 16 ? data : Float64Array.from({ length: 16 }, (_, i) => data[i] ?? 0);
    h.size = size;
    for (let i = (size >> 1) - 1; i >= 0; i--) h.siftDown(i, h.data[i]);
    return h;
  }

  push(v: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    const d = this.data;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (d[parent] <= v) break;
      d[i] = d[parent];
      i = parent;
    }
    d[i] = v;
  }

  pop(): number {
    const top = this.data[0];
    const last = this.data[--this.size];
    if (this.size > 0) this.siftDown(0, last);
    return top;
  }

  /** Places v at i or below, moving smaller children up. */
  private siftDown(i: number, v: number): void {
    const d = this.data;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && d[c + 1] < d[c]) c++;
      if (d[c] >= v) break;
      d[i] = d[c];
      i = c;
    }
    d[i] = v;
  }
}
