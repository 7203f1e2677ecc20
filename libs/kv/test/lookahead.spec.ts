// Lookahead slots (speculative decoding): draft tokens get slots but no hashes; the next
// allocation keeps the accepted drafts' slots, drops the rest, and only real tokens reach the
// prefix cache. Expected tables are worked out by hand from the block size.
import { KvCacheManager } from '../src';

const BS = 4;
const prompt = [10, 11, 12, 13, 14, 15]; // 6 tokens: block 0 full, block 1 holds 2

function started(numBlocks = 16): KvCacheManager {
  const m = new KvCacheManager({ numBlocks, blockSize: BS });
  // prefill computes all 6 prompt tokens
  const [a] = m.allocateSlots([{ seqId: 's', newTokenIds: prompt }]);
  expect(a).toMatchObject({ ok: true, numComputedTokens: 0, numScheduledTokens: 6 });
  return m;
}

describe('KvCacheManager lookahead slots', () => {
  it('grants lookahead slots past the scheduled token without counting them as tokens', () => {
    const m = started();
    // decode: token 16 at position 6, plus 5 draft slots at positions 7..11 -> 12 slots = 3 blocks
    const [a] = m.allocateSlots([{ seqId: 's', newTokenIds: [16], numLookaheadTokens: 5 }], { commit: ['s'] });
    expect(a).toMatchObject({ ok: true, numTokens: 7, numComputedTokens: 6, numScheduledTokens: 1, numLookaheadTokens: 5 });
    expect(a.blockTable).toHaveLength(3);
    expect(m.getBlockTable('s')).toMatchObject({ numTokens: 7, numComputedTokens: 7 });
  });

  it('keeps accepted drafts, drops the blocks that only held rejected ones, and starts after them', () => {
    const m = started();
    const [a] = m.allocateSlots([{ seqId: 's', newTokenIds: [16], numLookaheadTokens: 5 }], { commit: ['s'] });
    const freeBefore = m.stats().numFreeBlocks;
    // 1 of 5 drafts accepted (position 7) + the bonus token (position 8): 9 tokens, 8 computed
    const [b] = m.allocateSlots([{ seqId: 's', newTokenIds: [17, 18], numAcceptedLookaheadTokens: 1 }], { commit: ['s'] });
    expect(b).toMatchObject({ ok: true, numTokens: 9, numComputedTokens: 8, numScheduledTokens: 1 });
    expect(b.numLookaheadTokens ?? 0).toBe(0);
    // positions 0..8 -> 3 blocks; the first two are the same physical blocks as before
    expect(b.blockTable).toEqual(a.blockTable.slice(0, 3));
    expect(m.stats().numFreeBlocks).toBe(freeBefore);
    // with no lookahead left, a table that needs fewer blocks gives the extra one back
    const [c] = m.allocateSlots([{ seqId: 's', newTokenIds: [19], numLookaheadTokens: 0 }], { commit: ['s'] });
    expect(c).toMatchObject({ ok: true, numComputedTokens: 9, numScheduledTokens: 1 });
    expect(c.blockTable).toHaveLength(3);
  });

  it('frees lookahead-only blocks when every draft is rejected', () => {
    const m = started();
    m.allocateSlots([{ seqId: 's', newTokenIds: [16], numLookaheadTokens: 6 }], { commit: ['s'] }); // slots 0..12: 4 blocks
    const used = m.stats().numUsedBlocks;
    expect(used).toBe(4);
    const [b] = m.allocateSlots([{ seqId: 's', newTokenIds: [99] }], { commit: ['s'] }); // bonus at 7: 8 slots = 2 blocks
    expect(b).toMatchObject({ ok: true, numComputedTokens: 7, numScheduledTokens: 1 });
    expect(b.blockTable).toHaveLength(2);
    expect(m.stats().numUsedBlocks).toBe(2);
  });

  it('hashes only real tokens: a second sequence hits the accepted drafts, never a rejected one', () => {
    const m = started();
    m.allocateSlots([{ seqId: 's', newTokenIds: [16], numLookaheadTokens: 3 }], { commit: ['s'] });
    // drafts at 7, 8 accepted; bonus 19 at 9 -> tokens 10..19 (10 tokens), block 1 = [14 15 16 17] full
    m.allocateSlots([{ seqId: 's', newTokenIds: [17, 18, 19], numAcceptedLookaheadTokens: 2 }], { commit: ['s'] });
    m.allocateSlots([{ seqId: 's', newTokenIds: [20] }], { commit: ['s'] }); // commits blocks 0, 1
    const [hit] = m.allocateSlots([{ seqId: 't', newTokenIds: [10, 11, 12, 13, 14, 15, 16, 17, 5] }]);
    expect(hit.numComputedTokens).toBe(8); // both full blocks reused
    const [miss] = m.allocateSlots([{ seqId: 'u', newTokenIds: [10, 11, 12, 13, 14, 15, 16, 99, 5] }]);
    expect(miss.numComputedTokens).toBe(4); // block 1 differs in its last token
  });

  it('grants no lookahead when it does not fit, and still serves the request', () => {
    const m = started(4); // 3 usable blocks; the prompt holds 2
    const [a] = m.allocateSlots([{ seqId: 's', newTokenIds: [16], numLookaheadTokens: 8 }], { commit: ['s'] });
    expect(a).toMatchObject({ ok: true, numScheduledTokens: 1 });
    expect(a.numLookaheadTokens ?? 0).toBe(0);
    expect(a.blockTable).toHaveLength(2);
  });

  it('refuses more accepted lookahead tokens than were granted, naming the field', () => {
    const m = started();
    m.allocateSlots([{ seqId: 's', newTokenIds: [16], numLookaheadTokens: 2 }], { commit: ['s'] });
    expect(() => m.allocateSlots([{ seqId: 's', newTokenIds: [1, 2, 3, 4], numAcceptedLookaheadTokens: 3 }])).toThrow(/numAcceptedLookaheadTokens \(3\) exceeds the 2 lookahead slots/);
    expect(() => m.allocateSlots([{ seqId: 'n', newTokenIds: [1], numAcceptedLookaheadTokens: 1 }])).toThrow(/new sequence n has no lookahead slots/);
  });
});
