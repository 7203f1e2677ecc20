/* KV pool sizing from a byte budget (hand-worked) and copy-on-write block copies across layers. */
import { applyBlockCopies, bytesPerBlock, createKvPool, numBlocksForBudget } from './kv-pool';

describe('KV pool', () => {
  const shape = { blockSize: 16, numLayers: 30, numKvHeads: 3, headDim: 64 };

  it('sizes numBlocks = floor(bytes / (2 * L * blockSize * NKV * HS * 4))', () => {
    // 2 * 30 * 16 * 3 * 64 * 4 = 737280 bytes per block; 1 GiB / 737280 = 1456.35 -> 1456
    expect(bytesPerBlock(shape)).toBe(737280);
    expect(numBlocksForBudget(2 ** 30, shape)).toBe(1456);
    expect(numBlocksForBudget(737280 * 2, shape)).toBe(2);
  });

  it('rejects a budget below two blocks (null block + one) with a message that says what to change', () => {
    expect(() => numBlocksForBudget(737280 * 2 - 1, shape)).toThrow(/holds 1 blocks .* raise the budget/);
    expect(() => numBlocksForBudget(1e9, { ...shape, blockSize: 0 })).toThrow(/block size 0/);
  });

  it('allocates L zeroed K and V arrays of numBlocks * blockSize * NKV * HS floats', () => {
    const pool = createKvPool({ numBlocks: 5, blockSize: 4, numLayers: 2, numKvHeads: 2, headDim: 3 });
    expect(pool.k).toHaveLength(2);
    expect(pool.v).toHaveLength(2);
    for (const a of [...pool.k, ...pool.v]) {
      expect(a.length).toBe(5 * 4 * 2 * 3);
      expect(a.every((x) => x === 0)).toBe(true);
    }
  });

  it('copies block src onto dst in every layer, K and V, and touches no other block', () => {
    const pool = createKvPool({ numBlocks: 4, blockSize: 2, numLayers: 3, numKvHeads: 1, headDim: 2 });
    const blockFloats = 2 * 1 * 2;
    pool.k.forEach((a, l) => a.forEach((_, i) => (a[i] = 1000 * l + i)));
    pool.v.forEach((a, l) => a.forEach((_, i) => (a[i] = -1000 * l - i)));
    const before = { k: pool.k.map((a) => Float32Array.from(a)), v: pool.v.map((a) => Float32Array.from(a)) };
    applyBlockCopies(pool, [{ src: 1, dst: 3 }]);
    for (let l = 0; l < 3; l++) {
      for (const kind of ['k', 'v'] as const) {
        const a = pool[kind][l];
        const b = before[kind][l];
        for (let i = 0; i < a.length; i++) {
          const block = Math.floor(i / blockFloats);
          const want = block === 3 ? b[blockFloats + (i % blockFloats)] : b[i];
          expect(a[i]).toBe(want);
        }
      }
    }
  });
});
