/*
 * The worker's physical KV pool: per layer one K and one V Float32Array holding every slot of
 * every block, sized from a byte budget, plus copy-on-write block copies across all layers.
 *
 * What this is not: the allocator. The kv-manager (libs/kv) decides which block holds which
 * tokens; the pool only owns the memory. Block 0 is the kv-manager's reserved null block: it
 * counts in numBlocks but no sequence may read or write it.
 *
 * Layout (vLLM PagedAttention): k[l], v[l] are (numBlocks * blockSize, NKV, HS), slot-major.
 */
import { copyBlock } from '@llm/tensor';
import type { KvPool } from './types';

export interface KvPoolShape {
  numBlocks: number;
  blockSize: number;
  numLayers: number; // L
  numKvHeads: number; // NKV
  headDim: number; // HS
}

/** Bytes one block takes across all layers: 2 (K and V) * L * blockSize * NKV * HS * 4 (f32). */
export function bytesPerBlock(shape: Omit<KvPoolShape, 'numBlocks'>): number {
  return 2 * shape.numLayers * shape.blockSize * shape.numKvHeads * shape.headDim * 4;
}

/** numBlocks = floor(bytes / bytesPerBlock); throws when the budget holds fewer than 2 blocks (null + 1). */
export function numBlocksForBudget(budgetBytes: number, shape: Omit<KvPoolShape, 'numBlocks'>): number {
  if (!Number.isInteger(shape.blockSize) || shape.blockSize < 1) {
    throw new RangeError(`block size ${shape.blockSize} must be a positive integer`);
  }
  const per = bytesPerBlock(shape);
  const numBlocks = Math.floor(budgetBytes / per);
  if (!(numBlocks >= 2)) {
    throw new RangeError(
      `KV cache budget of ${budgetBytes} bytes holds ${numBlocks} blocks of ${per} bytes; ` +
        'at least 2 are needed (the null block and one usable block): raise the budget or lower the block size',
    );
  }
  const floatsPerLayer = numBlocks * shape.blockSize * shape.numKvHeads * shape.headDim;
  const maxFloats = 2 ** 32 - 1; // one Float32Array per layer and kind
  return floatsPerLayer > maxFloats ? Math.floor(maxFloats / (shape.blockSize * shape.numKvHeads * shape.headDim)) : numBlocks;
}

/** Allocates a zeroed pool of the given shape. */
export function createKvPool(shape: KvPoolShape): KvPool {
  const floats = shape.numBlocks * shape.blockSize * shape.numKvHeads * shape.headDim;
  const k: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (let l = 0; l < shape.numLayers; l++) {
    k.push(new Float32Array(floats));
    v.push(new Float32Array(floats));
  }
  return { ...shape, k, v };
}

/** Copies every layer's K and V of block src onto block dst (copy-on-write), in list order. */
export function applyBlockCopies(pool: KvPool, copies: ReadonlyArray<{ src: number; dst: number }>): void {
  const rowSize = pool.numKvHeads * pool.headDim;
  for (const { src, dst } of copies) {
    for (let l = 0; l < pool.numLayers; l++) {
      copyBlock(pool.k[l], src, dst, pool.blockSize, rowSize);
      copyBlock(pool.v[l], src, dst, pool.blockSize, rowSize);
    }
  }
}
