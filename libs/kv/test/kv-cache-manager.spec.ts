// KvCacheManager behaviour the gRPC contract does not expose: explicit isNew, owners,
// commit of freed sequences, prefix caching off, input validation.
import { KvCacheManager, KvError } from '../src';

const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KvError);
    return (e as KvError).code;
  }
  return undefined;
}

describe('KvCacheManager', () => {
  it('checks an explicit isNew in both directions', () => {
    const m = new KvCacheManager({ numBlocks: 8, blockSize: 4 });
    expect(codeOf(() => m.allocateSlots([{ seqId: 'a', newTokenIds: [1], isNew: false }]))).toBe('INVALID_ARGUMENT');
    m.allocateSlots([{ seqId: 'a', newTokenIds: [1], isNew: true }]);
    expect(codeOf(() => m.allocateSlots([{ seqId: 'a', newTokenIds: [1], isNew: true }]))).toBe('FAILED_PRECONDITION');
    expect(codeOf(() => m.allocateSlots([{ seqId: 'n', newTokenIds: [], isNew: true }]))).toBe('INVALID_ARGUMENT');
    expect(m.getBlockTable('a').numTokens).toBe(1);
  });

  it("refuses to touch another owner's sequence", () => {
    const m = new KvCacheManager({ numBlocks: 8, blockSize: 4 });
    m.allocateSlots([{ seqId: 'a', newTokenIds: [1, 2] }], { owner: 's1' });
    expect(codeOf(() => m.allocateSlots([{ seqId: 'a', newTokenIds: [3] }], { owner: 's2' }))).toBe('FAILED_PRECONDITION');
    expect(codeOf(() => m.free(['a'], { owner: 's2' }))).toBe('FAILED_PRECONDITION');
    expect(m.fork('a', ['b'], { owner: 's1', childOwner: 's3' })[0].blockTable).toEqual(m.getBlockTable('a').blockTable);
    expect(m.getBlockTable('b').owner).toBe('s3');
    expect(m.free(['a'], { owner: 's1' })).toBe(0); // b still holds the block
    expect(m.free(['b'])).toBe(1);
  });

  it('skips sequences freed since their step when committing, and rejects unknown ones', () => {
    const m = new KvCacheManager({ numBlocks: 8, blockSize: 4 });
    m.allocateSlots([{ seqId: 'a', newTokenIds: range(1, 8) }]);
    m.free(['a']);
    expect(() => m.commit(['a'])).not.toThrow();
    expect(m.stats().numCachedBlocks).toBe(0);
    expect(codeOf(() => m.commit(['zzz']))).toBe('INVALID_ARGUMENT');
  });

  it('caches only blocks below the committed computed count', () => {
    const m = new KvCacheManager({ numBlocks: 16, blockSize: 4 });
    m.allocateSlots([{ seqId: 'a', newTokenIds: range(1, 13), numTokensToCompute: 6 }]);
    m.commit(['a']); // 6 computed tokens: one full block
    expect(m.stats().numCachedBlocks).toBe(1);
    m.allocateSlots([{ seqId: 'a', newTokenIds: [] }], { commit: [] });
    m.commit(['a']); // 13 computed: three full blocks
    expect(m.stats().numCachedBlocks).toBe(3);
  });

  it('shares nothing with prefix caching off', () => {
    const m = new KvCacheManager({ numBlocks: 16, blockSize: 4, enablePrefixCaching: false });
    m.allocateSlots([{ seqId: 'a', newTokenIds: range(1, 9) }]);
    const b = m.allocateSlots([{ seqId: 'b', newTokenIds: range(1, 9) }], { commit: ['a'] });
    expect(b[0].numComputedTokens).toBe(0);
    expect(m.stats()).toMatchObject({ numCachedBlocks: 0, numUsedBlocks: 6 });
  });

  it('validates token ids, sizes and list arguments with messages naming the field', () => {
    const m = new KvCacheManager({ numBlocks: 8, blockSize: 4 });
    expect(() => m.allocateSlots([{ seqId: 'a', newTokenIds: [1, -2] }])).toThrow(/sequence a: newTokenIds\[1\] = -2/);
    expect(() => m.allocateSlots([{ seqId: 'a', newTokenIds: [1.5] }])).toThrow(/newTokenIds\[0\]/);
    expect(() => m.allocateSlots([{ seqId: '', newTokenIds: [1] }])).toThrow(/requests\[0\]\.seqId/);
    expect(() => m.allocateSlots([{ seqId: 'a', newTokenIds: [1], numTokensToCompute: -1 }])).toThrow(/numTokensToCompute/);
    expect(() => m.allocateSlots({} as never)).toThrow(/requests must be an array/);
    expect(() => m.fork('a', [])).toThrow(/unknown sequence a/);
    expect(() => m.evictCached(-1)).toThrow(/non-negative/);
    expect(() => new KvCacheManager({ numBlocks: 8, blockSize: 0 })).toThrow(/blockSize/);
    expect(() => new KvCacheManager({ numBlocks: 1, blockSize: 4 })).toThrow(/numBlocks/);
    expect(() => new KvCacheManager({ numBlocks: 2 ** 22 + 1, blockSize: 4 })).toThrow(/numBlocks must be an integer in 2..4194304/);
    expect(() => new KvCacheManager({ numBlocks: 8, blockSize: 2 ** 16 + 1 })).toThrow(/blockSize/);
    expect(m.numSequences).toBe(0);
  });
});

describe('KvCacheManager.counts', () => {
  it('equals the matching fields of stats() through allocations, prefix hits, commits, frees and a reset', () => {
    const m = new KvCacheManager({ numBlocks: 12, blockSize: 4 });
    const same = () => {
      const { numBlocks, numUsedBlocks, numFreeBlocks, numCachedFreeBlocks, numSequences, numQueryTokens, numHitTokens } = m.stats();
      expect(m.counts()).toEqual({ numBlocks, numUsedBlocks, numFreeBlocks, numCachedFreeBlocks, numSequences, numQueryTokens, numHitTokens });
    };
    same();
    m.allocateSlots([{ seqId: 'a', newTokenIds: range(1, 9) }]);
    same();
    m.commit(['a']);
    m.allocateSlots([{ seqId: 'b', newTokenIds: range(1, 10) }]); // 8 of its 10 tokens hit a's two full blocks
    same();
    expect(m.counts()).toMatchObject({ numSequences: 2, numQueryTokens: 19, numHitTokens: 8 });
    m.free(['a', 'b']);
    same();
    expect(m.counts()).toMatchObject({ numUsedBlocks: 0, numCachedFreeBlocks: 2 });
    m.reset();
    same();
    expect(m.counts()).toMatchObject({ numQueryTokens: 0, numHitTokens: 0, numCachedFreeBlocks: 0 });
  });
});
