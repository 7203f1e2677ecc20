/*
 * PairTable: an open-addressing hash map (left id, right id) -> (rank, merged id).
 *
 * What it is: the rank lookup at the heart of BPE. Keys are two int32 token ids, stored in
 * flat Int32Arrays with linear probing; no strings or objects are created on lookup.
 * What it is not: a general Map; it only grows by insertion and never deletes.
 * Reference: the merges table of Sennrich et al. (2016) BPE; tiktoken's rank of a byte pair.
 */

const EMPTY = -1;

export class PairTable {
  private keysA: Int32Array;
  private keysB: Int32Array;
  private ranks: Int32Array;
  private merged: Int32Array;
  private mask: number;
  /** Number of pairs stored. */
  numPairs = 0;

  constructor(expectedPairs = 1024) {
    let cap = 16;
    while (cap < expectedPairs * 2) cap <<= 1;
    this.mask = cap - 1;
    this.keysA = new Int32Array(cap).fill(EMPTY);
    this.keysB = new Int32Array(cap);
    this.ranks = new Int32Array(cap);
    this.merged = new Int32Array(cap);
  }

  private slot(a: number, b: number): number {
    // multiplicative hash of the two ids, folded into the table size
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
  }

  /** Sets (a, b) -> (rank, mergedId); an existing pair keeps its lower rank. */
  set(a: number, b: number, rank: number, mergedId: number): void {
    if ((this.numPairs + 1) * 2 > this.mask + 1) this.grow();
    let i = this.slot(a, b) & this.mask;
    for (;;) {
      const ka = this.keysA[i];
      if (ka === EMPTY) {
        this.keysA[i] = a;
        this.keysB[i] = b;
        this.ranks[i] = rank;
        this.merged[i] = mergedId;
        this.numPairs++;
        return;
      }
      if (ka === a && this.keysB[i] === b) {
        if (rank < this.ranks[i]) {
          this.ranks[i] = rank;
          this.merged[i] = mergedId;
        }
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Index of (a, b) in the table, or -1. Read rankAt / mergedAt with it. */
  find(a: number, b: number): number {
    const keysA = this.keysA;
    const mask = this.mask;
    let i = this.slot(a, b) & mask;
    for (;;) {
      const ka = keysA[i];
      if (ka === EMPTY) return -1;
      if (ka === a && this.keysB[i] === b) return i;
      i = (i + 1) & mask;
    }
  }

  /** Rank of (a, b), or -1 when the pair never merges. */
  rank(a: number, b: number): number {
    const i = this.find(a, b);
    return i < 0 ? -1 : this.ranks[i];
  }

  rankAt(index: number): number {
    return this.ranks[index];
  }

  mergedAt(index: number): number {
    return this.merged[index];
  }

  private grow(): void {
    const { keysA, keysB, ranks, merged } = this;
    const cap = (this.mask + 1) * 2;
    this.mask = cap - 1;
    this.keysA = new Int32Array(cap).fill(EMPTY);
    this.keysB = new Int32Array(cap);
    this.ranks = new Int32Array(cap);
    this.merged = new Int32Array(cap);
    this.numPairs = 0;
    for (let i = 0; i < keysA.length; i++) {
      if (keysA[i] !== EMPTY) this.set(keysA[i], keysB[i], ranks[i], merged[i]);
    }
  }
}
