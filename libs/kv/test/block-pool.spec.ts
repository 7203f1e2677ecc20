// BlockPool: ref counts, the eviction order of the free queue, and cache-entry bookkeeping.
import { BlockPool, NULL_BLOCK_ID } from '../src';

describe('BlockPool', () => {
  it('never hands out the null block and refuses more blocks than are free', () => {
    const p = new BlockPool(4);
    expect(p.numFreeBlocks).toBe(3);
    expect(p.allocate(4)).toBeNull();
    expect(p.allocate(3)).toEqual([1, 2, 3]);
    expect(p.numUsedBlocks).toBe(3);
    expect(() => p.free([NULL_BLOCK_ID])).toThrow(/not referenced/);
    expect(() => new BlockPool(1)).toThrow(/>= 2/);
  });

  it('frees cached blocks to the tail and uncached ones to the head', () => {
    const p = new BlockPool(6);
    const [a, b, c, d, e] = p.allocate(5)!;
    expect(p.cacheBlock(a, 'ha')).toBe(true);
    expect(p.cacheBlock(b, 'hb')).toBe(true);
    expect(p.cacheBlock(c, 'ha')).toBe(false); // one block per hash
    expect(p.cacheBlock(a, 'hz')).toBe(false); // one hash per block
    expect(p.free([b, a])).toBe(2); // a sequence's blocks, tail first
    expect(p.free([c, d])).toBe(2);
    expect(p.freeBlockIds()).toEqual([d, c, b, a]);
    expect(p.numCachedFreeBlocks).toBe(2);
    // allocation takes uncached d, c, then evicts b (the tail freed first)
    expect(p.allocate(3)).toEqual([d, c, b]);
    expect(p.getCachedBlock('hb')).toBe(-1);
    expect(p.getCachedBlock('ha')).toBe(a);
    expect(p.numCachedFreeBlocks).toBe(1);
    void e;
  });

  it('takes a cached free block back on touch and counts references', () => {
    const p = new BlockPool(4);
    const [a] = p.allocate(1)!;
    p.cacheBlock(a, 'h');
    p.free([a]);
    p.touch([a]);
    p.touch([a]);
    expect(p.refCount(a)).toBe(2);
    expect(p.isFree(a)).toBe(false);
    expect(p.free([a])).toBe(0);
    expect(p.free([a])).toBe(1);
    expect(p.isFree(a)).toBe(true);
    expect(p.evictCached(5)).toBe(1);
    expect(p.getCachedBlock('h')).toBe(-1);
    expect(p.numCachedBlocks).toBe(0);
  });
});
