// KvPools: pools by worker id, leases on an injected clock, summed stats.
import { KvPools, sumStats } from '../src';

const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);

describe('KvPools', () => {
  it('names an unknown pool and the registered ones', () => {
    const pools = new KvPools();
    pools.registerPool('w1', { numBlocks: 8, blockSize: 4 });
    expect(() => pools.allocateSlots('w9', [])).toThrow(/pool w9 is not registered \(registered: w1\)/);
    expect(() => pools.registerPool('', { numBlocks: 8, blockSize: 4 })).toThrow(/pool id/);
    expect(() => pools.registerPool('w2', { numBlocks: 0, blockSize: 4 })).toThrow(/numBlocks/);
  });

  it("frees an expired owner's sequences in every pool, and only that owner's", () => {
    let now = 0;
    const pools = new KvPools({ now: () => now });
    pools.registerPool('w1', { numBlocks: 8, blockSize: 4 });
    pools.registerPool('w2', { numBlocks: 8, blockSize: 4 });
    pools.renewLease('s1', 100);
    pools.allocateSlots('w1', [{ seqId: 'a', newTokenIds: range(1, 5) }], { owner: 's1' });
    pools.allocateSlots('w2', [{ seqId: 'b', newTokenIds: range(1, 5) }], { owner: 's1' });
    pools.allocateSlots('w2', [{ seqId: 'c', newTokenIds: range(1, 5) }], { owner: 's2' });
    now = 99;
    expect(pools.expireLeases()).toEqual([]);
    expect(pools.leaseExpiry('s1')).toBe(100);
    now = 100;
    const expired = pools.expireLeases();
    expect(expired).toEqual([{ owner: 's1', seqIds: new Map([['w1', ['a']], ['w2', ['b']]]) }]);
    expect(pools.numSequencesExpiredTotal).toBe(2);
    expect(pools.stats('w1').numUsedBlocks).toBe(0);
    expect(pools.pool('w2').sequenceIds()).toEqual(['c']);
    expect(pools.leaseExpiry('s1')).toBeUndefined();
    expect(() => pools.renewLease('s1', 0)).toThrow(/ttlMs/);
  });

  it('sums stats over pools and recomputes the hit rate from the sums', () => {
    const pools = new KvPools();
    pools.registerPool('w1', { numBlocks: 9, blockSize: 4 });
    pools.registerPool('w2', { numBlocks: 17, blockSize: 4 });
    pools.allocateSlots('w1', [{ seqId: 'a', newTokenIds: range(1, 9) }]);
    pools.allocateSlots('w1', [{ seqId: 'b', newTokenIds: range(1, 9) }], { commit: ['a'] }); // hit 8 of 9
    pools.allocateSlots('w2', [{ seqId: 'a', newTokenIds: range(1, 3) }]); // 0 of 3
    const all = pools.statsAll();
    expect(all).toMatchObject({ blockSize: 4, numBlocks: 8 + 16, numUsedBlocks: 3 + 1 + 1, numSequences: 3 });
    expect(all.prefixHitRate).toBeCloseTo(8 / 21, 12);
    expect(sumStats([]).blockSize).toBe(0);
  });
});
