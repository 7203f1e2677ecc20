/*
 * The pool map: every physical block's state, run-length encoded, for the internals trace (a
 * viewer draws the pool as a grid of blocks and animates it over a request's steps).
 *
 *   block:  1    2    3    4    5    6 ...          (block 0, the null block, is left out)
 *   state:  used used shrd free free cchd ...   ->  [used x2] [shared x1] [free x2] [cached x1] ...
 *
 * States: free (on the free queue, nothing reusable), cached (free but still a prefix-cache
 * entry), used (one sequence), used_cached (one sequence, registered in the prefix cache), shared
 * (more than one sequence: a shared prefix or a fork).
 * What it is not: an allocator view that anything decides on; O(numBlocks), built only when asked.
 */
import { NULL_BLOCK_ID } from './block-pool';

export type BlockStateName = 'free' | 'cached' | 'used' | 'used_cached' | 'shared';

export interface PoolRun {
  state: BlockStateName;
  numBlocks: number;
}

/** Most runs a map holds by default; a map cut there covers fewer blocks than the pool has. */
export const DEFAULT_MAX_POOL_RUNS = 4096;

/** What the map needs of a BlockPool. */
export interface BlockStates {
  readonly numBlocks: number;
  refCount(blockId: number): number;
  hashOf(blockId: number): unknown;
}

export function blockState(pool: BlockStates, blockId: number): BlockStateName {
  const refs = pool.refCount(blockId);
  const hashed = pool.hashOf(blockId) !== undefined;
  if (refs === 0) return hashed ? 'cached' : 'free';
  if (refs > 1) return 'shared';
  return hashed ? 'used_cached' : 'used';
}

/** Blocks 1 .. numBlocks-1 as runs of equal state, at most maxRuns of them. */
export function poolMapOf(pool: BlockStates, maxRuns = DEFAULT_MAX_POOL_RUNS): PoolRun[] {
  const runs: PoolRun[] = [];
  for (let b = NULL_BLOCK_ID + 1; b < pool.numBlocks; b++) {
    const state = blockState(pool, b);
    const last = runs[runs.length - 1];
    if (last && last.state === state) last.numBlocks++;
    else if (runs.length < maxRuns) runs.push({ state, numBlocks: 1 });
    else break;
  }
  return runs;
}
