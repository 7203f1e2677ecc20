/*
 * Slot arithmetic and K/V writes for a paged KV pool (one layer's K or V array).
 *
 * What this is not: an allocator. Which physical block holds which tokens is decided by the
 * kv-manager (libs/kv); these helpers only turn (block table, position) into a slot and copy
 * rows in and out of the flat pool arrays.
 *
 * Layout follows vLLM's PagedAttention (Kwon et al. 2023), slot-major:
 *   pool: (numBlocks * blockSize, NKV, HS); slot = blockTable[floor(pos / blockSize)] * blockSize + pos % blockSize
 *   the (slot, kvHead) row starts at (slot * NKV + kvHead) * HS.
 */

/** Pool slot of absolute position `pos` of a sequence with the given block table. */
export function slotOf(blockTable: ArrayLike<number>, pos: number, blockSize: number): number {
  return blockTable[Math.floor(pos / blockSize)] * blockSize + (pos % blockSize);
}

/**
 * Writes N new rows of K and V (each rowSize = NKV * HS floats) into their pool slots.
 * k, v: (N, NKV, HS); kPool, vPool: (slots, NKV, HS); slotMapping: (N).
 * Throws RangeError naming the row when a slot lies outside the pool (nothing is written then).
 */
export function writeKvSlots(
  kPool: Float32Array,
  vPool: Float32Array,
  k: Float32Array,
  v: Float32Array,
  slotMapping: ArrayLike<number>,
  rowSize: number,
): void {
  const numSlots = Math.floor(kPool.length / rowSize);
  for (let i = 0; i < slotMapping.length; i++) {
    const slot = slotMapping[i];
    if (!Number.isInteger(slot) || slot < 0 || slot >= numSlots) {
      throw new RangeError(`slotMapping[${i}] = ${slot} is outside the pool (expected 0..${numSlots - 1})`);
    }
  }
  for (let i = 0; i < slotMapping.length; i++) {
    const dst = slotMapping[i] * rowSize;
    kPool.set(k.subarray(i * rowSize, (i + 1) * rowSize), dst);
    vPool.set(v.subarray(i * rowSize, (i + 1) * rowSize), dst);
  }
}

/** Copies every slot of block `src` onto block `dst` in one pool array (copy-on-write). */
export function copyBlock(pool: Float32Array, src: number, dst: number, blockSize: number, rowSize: number): void {
  const blockFloats = blockSize * rowSize;
  pool.copyWithin(dst * blockFloats, src * blockFloats, (src + 1) * blockFloats);
}
