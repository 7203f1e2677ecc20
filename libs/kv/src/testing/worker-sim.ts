/*
 * WorkerSim: a stand-in for the attention worker's paged memory that stores token ids
 * instead of K/V, so a test can check the allocator end to end: apply the copy-on-write
 * copies, write each step's tokens into the slots the block tables name, then read every
 * live sequence back through its table. If the allocator ever shared a block it should
 * not have, or reused a cached block that holds other tokens, a read-back differs.
 * Deliberately no attention math: only slot addressing (slot t % BS of block
 * table[floor(t / BS)], PagedAttention's layout).
 */
import { BlockCopy } from '../types';

const EMPTY = -1;

export class WorkerSim {
  private readonly slots: Int32Array;

  constructor(
    readonly numBlocks: number,
    readonly blockSize: number,
  ) {
    this.slots = new Int32Array(numBlocks * blockSize).fill(EMPTY);
  }

  /** Copies whole blocks, in order, as the worker does before a step writes. */
  applyCopies(copies: readonly BlockCopy[]): void {
    const bs = this.blockSize;
    for (const { src, dst } of copies) this.slots.copyWithin(dst * bs, src * bs, (src + 1) * bs);
  }

  /** Writes tokens[from .. to) of a sequence through its block table. */
  write(table: readonly number[], tokens: readonly number[], from: number, to: number): void {
    for (let t = from; t < to; t++) this.slots[this.slotOf(table, t)] = tokens[t];
  }

  /** Reads the first n tokens of a sequence back through its block table. */
  read(table: readonly number[], n: number): number[] {
    const out: number[] = [];
    for (let t = 0; t < n; t++) out.push(this.slots[this.slotOf(table, t)]);
    return out;
  }

  private slotOf(table: readonly number[], t: number): number {
    const block = table[Math.floor(t / this.blockSize)];
    if (block === undefined) throw new Error(`token ${t} has no block in a table of ${table.length} blocks`);
    return block * this.blockSize + (t % this.blockSize);
  }
}
