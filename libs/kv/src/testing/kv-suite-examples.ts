/*
 * Hand-worked examples of the kv-manager contract, run against any KvDriver (the library
 * in process, or the service over gRPC). Each expected number is worked out in the test
 * from the block size, not read back from the implementation.
 * Deliberately no randomness here: kv-suite-properties.ts covers interleavings.
 */
import { KvErrorCode } from '../errors';
import { KvDriver } from './kv-driver';

/** Token ids start..start+n-1 (distinct runs give distinct prompts). */
export const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);

/** Asserts that `p` rejects with one of `codes` and a message naming every string in `mentions`. */
export async function expectKvError(p: Promise<unknown>, codes: KvErrorCode[], mentions: string[]): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeDefined();
  const { code, message } = err as { code: KvErrorCode; message: string };
  expect(codes).toContain(code);
  for (const m of mentions) expect(message).toContain(m);
}

/** Registers the hand-worked example tests on `getDriver()` (called inside each test). */
export function kvExampleSuite(getDriver: () => KvDriver): void {
  let n = 0;
  const pool = async (numBlocks: number, blockSize: number): Promise<string> => {
    const id = `ex-${++n}-${Date.now()}`;
    await getDriver().registerPool(id, numBlocks, blockSize);
    return id;
  };

  it('allocates blocks on demand, so only the last block of a sequence has free slots', async () => {
    const d = getDriver();
    const p = await pool(64, 16);
    const r1 = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 20) }]);
    // 20 tokens -> ceil(20/16) = 2 blocks, nothing cached yet
    expect(r1.sequences[0]).toMatchObject({ ok: true, numComputedTokens: 0, numTokens: 20 });
    expect(r1.sequences[0].blockTable).toHaveLength(2);
    const r2 = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(21, 13) }]);
    // 33 tokens -> 3 blocks; the step starts at token 20
    expect(r2.sequences[0]).toMatchObject({ ok: true, numComputedTokens: 20, numTokens: 33 });
    expect(r2.sequences[0].blockTable.slice(0, 2)).toEqual(r1.sequences[0].blockTable);
    expect(r2.sequences[0].blockTable).toHaveLength(3);
    const s = await d.stats(p);
    // waste = 3 * 16 - 33 = 15 slots, all in the last block
    expect(s).toMatchObject({ numBlocks: 63, numUsedBlocks: 3, numFreeBlocks: 60, numSequences: 1, numWastedSlots: 15 });
  });

  it('shares floor(100/16) = 6 blocks between two requests with a 100-token prefix; other salts share none', async () => {
    const d = getDriver();
    const p = await pool(64, 16);
    const prefix = range(1000, 100);
    const a = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: [...prefix, ...range(1, 20)], salt: 't1' }]);
    await d.allocateSlots(p, [], { commit: ['a'] });
    const b = await d.allocateSlots(p, [{ seqId: 'b', newTokenIds: [...prefix, ...range(500, 30)], salt: 't1' }]);
    expect(b.sequences[0].numComputedTokens).toBe(96);
    expect(b.sequences[0].blockTable.slice(0, 6)).toEqual(a.sequences[0].blockTable.slice(0, 6));
    expect(b.sequences[0].blockTable[6]).not.toBe(a.sequences[0].blockTable[6]);
    const c = await d.allocateSlots(p, [{ seqId: 'c', newTokenIds: [...prefix, ...range(500, 30)], salt: 't2' }]);
    expect(c.sequences[0].numComputedTokens).toBe(0);
    const shared = c.sequences[0].blockTable.filter((x) => a.sequences[0].blockTable.includes(x));
    expect(shared).toEqual([]);
    // hit rate = 96 hit tokens / (120 + 130 + 130) prompt tokens looked up
    expect((await d.stats(p)).prefixHitRate).toBeCloseTo(96 / 380, 12);
  });

  it('shares a filled block only after the step that filled it is committed', async () => {
    const d = getDriver();
    const p = await pool(32, 16);
    const prompt = range(7, 40);
    await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: prompt }]);
    const b = await d.allocateSlots(p, [{ seqId: 'b', newTokenIds: prompt }]);
    expect(b.sequences[0].numComputedTokens).toBe(0);
    await d.allocateSlots(p, [], { commit: ['a'] });
    // 40 tokens: blocks 0 and 1 are full and hold no last token -> 32 computed tokens
    const c = await d.allocateSlots(p, [{ seqId: 'c', newTokenIds: prompt }]);
    expect(c.sequences[0].numComputedTokens).toBe(32);
  });

  it('recomputes the last token of a prompt that is entirely cached', async () => {
    const d = getDriver();
    const p = await pool(32, 16);
    const a = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 32) }]);
    await d.allocateSlots(p, [], { commit: ['a'] });
    const b = await d.allocateSlots(p, [{ seqId: 'b', newTokenIds: range(1, 32) }]);
    // token 31 lives in block 1, so only block 0 is reused: 16 tokens computed
    expect(b.sequences[0].numComputedTokens).toBe(16);
    expect(b.sequences[0].blockTable[0]).toBe(a.sequences[0].blockTable[0]);
    expect(b.sequences[0].blockTable[1]).not.toBe(a.sequences[0].blockTable[1]);
    const c = await d.allocateSlots(p, [{ seqId: 'c', newTokenIds: range(1, 33) }]);
    expect(c.sequences[0].numComputedTokens).toBe(32);
  });

  it('allocates slots only for the tokens a step computes (chunked prefill)', async () => {
    const d = getDriver();
    const p = await pool(32, 16);
    const r1 = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 40), numTokensToCompute: 16 }]);
    expect(r1.sequences[0]).toMatchObject({ numComputedTokens: 0, numTokens: 40 });
    expect(r1.sequences[0].blockTable).toHaveLength(1);
    const r2 = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: [], numTokensToCompute: 10 }]);
    expect(r2.sequences[0].numComputedTokens).toBe(16);
    expect(r2.sequences[0].blockTable).toHaveLength(2);
    const r3 = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: [] }]);
    expect(r3.sequences[0].numComputedTokens).toBe(26);
    expect(r3.sequences[0].blockTable).toHaveLength(3);
    expect(await d.getBlockTable(p, 'a')).toEqual({ blockTable: r3.sequences[0].blockTable, numTokens: 40, numComputedTokens: 40 });
  });

  it('forks share blocks; the first write to the shared partial block copies it', async () => {
    const d = getDriver();
    const p = await pool(32, 16);
    const a = (await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 20) }])).sequences[0].blockTable;
    expect(await d.fork(p, 'a', ['b', 'c'])).toEqual(a);
    const rb = await d.allocateSlots(p, [{ seqId: 'b', newTokenIds: [99] }]);
    const bLast = rb.sequences[0].blockTable[1];
    expect(rb.copies).toEqual([{ src: a[1], dst: bLast }]);
    expect(rb.sequences[0].blockTable).toEqual([a[0], bLast]);
    const rc = await d.allocateSlots(p, [{ seqId: 'c', newTokenIds: [98] }]);
    expect(rc.copies).toEqual([{ src: a[1], dst: rc.sequences[0].blockTable[1] }]);
    // a is now the only holder of its last block: it writes in place
    const ra = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: [97] }]);
    expect(ra.copies).toEqual([]);
    expect(ra.sequences[0].blockTable).toEqual(a);
    // a[0] shared by three, plus three private last blocks
    expect((await d.stats(p)).numUsedBlocks).toBe(4);
  });

  it('needs no copy after a fork at a block boundary', async () => {
    const d = getDriver();
    const p = await pool(32, 16);
    const a = (await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 32) }])).sequences[0].blockTable;
    await d.fork(p, 'a', ['b']);
    const rb = await d.allocateSlots(p, [{ seqId: 'b', newTokenIds: [5] }]);
    expect(rb.copies).toEqual([]);
    expect(rb.sequences[0].blockTable.slice(0, 2)).toEqual(a);
    expect(rb.sequences[0].blockTable).toHaveLength(3);
  });

  it('answers out-of-blocks for the first sequence that does not fit and every later one, changing nothing', async () => {
    const d = getDriver();
    const p = await pool(5, 4); // 4 usable blocks of 4 tokens
    expect((await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 12) }])).sequences[0].ok).toBe(true);
    // b needs 2 blocks, 1 is free; a would fit (1 block) but comes after b
    const r = await d.allocateSlots(p, [
      { seqId: 'b', newTokenIds: range(50, 8) },
      { seqId: 'a', newTokenIds: [13] },
    ]);
    expect(r.sequences.map((s) => s.ok)).toEqual([false, false]);
    expect(await d.getBlockTable(p, 'a')).toMatchObject({ numTokens: 12, numComputedTokens: 12 });
    await expectKvError(d.getBlockTable(p, 'b'), ['INVALID_ARGUMENT', 'FAILED_PRECONDITION', 'NOT_FOUND'], ['b']);
    expect(await d.stats(p)).toMatchObject({ numUsedBlocks: 3, numSequences: 1 });
    const r2 = await d.allocateSlots(p, [
      { seqId: 'a', newTokenIds: [13] },
      { seqId: 'b', newTokenIds: range(50, 8) },
    ]);
    expect(r2.sequences.map((s) => s.ok)).toEqual([true, false]);
    expect(r2.sequences[0].blockTable).toHaveLength(4);
  });

  it('keeps freed cached blocks reusable and evicts the tails of finished sequences first', async () => {
    const d = getDriver();
    const p = await pool(6, 4); // 5 usable blocks
    const a = (await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(100, 12) }])).sequences[0].blockTable;
    const b = (await d.allocateSlots(p, [{ seqId: 'b', newTokenIds: range(200, 8) }])).sequences[0].blockTable;
    await d.allocateSlots(p, [], { commit: ['a', 'b'] });
    await d.free(p, ['a']);
    await d.free(p, ['b']);
    expect(await d.stats(p)).toMatchObject({ numFreeBlocks: 5, numCachedFreeBlocks: 5 });
    // free order: a2 a1 a0 b1 b0 -> an unrelated 2-block prompt evicts a's tail a2, a1
    const c = (await d.allocateSlots(p, [{ seqId: 'c', newTokenIds: range(300, 5) }])).sequences[0].blockTable;
    expect(c).toEqual([a[2], a[1]]);
    // b's prefix survived: 9 tokens -> 2 cached blocks + 1 fresh (a0, the next LRU)
    const e = await d.allocateSlots(p, [{ seqId: 'e', newTokenIds: [...range(200, 8), 7] }]);
    expect(e.sequences[0]).toMatchObject({ numComputedTokens: 8, blockTable: [b[0], b[1], a[0]] });
  });

  it('hands out blocks that hold no cache entry before evicting cached ones', async () => {
    const d = getDriver();
    const p = await pool(7, 4); // 6 usable blocks
    const a = (await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(100, 8) }])).sequences[0].blockTable;
    await d.allocateSlots(p, [], { commit: ['a'] });
    await d.free(p, ['a']);
    await d.allocateSlots(p, [{ seqId: 'u', newTokenIds: range(900, 8) }]);
    await d.free(p, ['u']); // never committed: nothing to reuse
    // v takes u's two blocks and the never-used one; a's two cached blocks survive
    await d.allocateSlots(p, [{ seqId: 'v', newTokenIds: range(300, 12) }]);
    const a2 = await d.allocateSlots(p, [{ seqId: 'a2', newTokenIds: [...range(100, 8), 1] }]);
    expect(a2.sequences[0].numComputedTokens).toBe(8);
    expect(a2.sequences[0].blockTable.slice(0, 2)).toEqual(a);
  });

  it('counts a shared block once in internal fragmentation', async () => {
    const d = getDriver();
    const p = await pool(64, 16);
    await d.allocateSlots(p, [
      { seqId: 'a', newTokenIds: range(1, 20) },
      { seqId: 'b', newTokenIds: range(100, 33) },
    ]);
    // 2 + 3 blocks = 80 slots for 53 tokens
    expect(await d.stats(p)).toMatchObject({ numUsedBlocks: 5, numWastedSlots: 80 - 53 });
    await d.fork(p, 'a', ['c']);
    expect(await d.stats(p)).toMatchObject({ numUsedBlocks: 5, numWastedSlots: 27 });
    await d.allocateSlots(p, [{ seqId: 'c', newTokenIds: [5] }]);
    // c's copy of block 1 holds 4 + 1 tokens: 6 blocks = 96 slots for 53 + 5 tokens
    expect(await d.stats(p)).toMatchObject({ numUsedBlocks: 6, numWastedSlots: 96 - 58 });
  });

  it('rejects misuse naming the sequence and leaves the pool unchanged', async () => {
    const d = getDriver();
    const p = await pool(8, 4);
    await d.allocateSlots(p, [{ seqId: 'live', newTokenIds: range(1, 6) }]);
    await d.allocateSlots(p, [{ seqId: 'gone', newTokenIds: range(10, 3) }]);
    await d.free(p, ['gone']);
    const before = await d.stats(p);
    const table = await d.getBlockTable(p, 'live');
    await expectKvError(d.free(p, ['ghost']), ['INVALID_ARGUMENT'], ['ghost']);
    await expectKvError(d.free(p, ['live', 'gone']), ['FAILED_PRECONDITION'], ['gone']);
    await expectKvError(d.fork(p, 'ghost', ['kid']), ['INVALID_ARGUMENT', 'FAILED_PRECONDITION'], ['ghost']);
    await expectKvError(d.fork(p, 'live', ['live']), ['INVALID_ARGUMENT', 'FAILED_PRECONDITION'], ['live']);
    await expectKvError(d.getBlockTable(p, 'ghost'), ['INVALID_ARGUMENT'], ['ghost']);
    // 7 usable blocks of 4 tokens hold at most 28 tokens
    await expectKvError(d.allocateSlots(p, [{ seqId: 'huge', newTokenIds: range(1, 29) }]), ['INVALID_ARGUMENT'], ['huge']);
    await expectKvError(
      d.allocateSlots(p, [
        { seqId: 'live', newTokenIds: [1] },
        { seqId: 'live', newTokenIds: [2] },
      ]),
      ['INVALID_ARGUMENT'],
      ['live'],
    );
    await expectKvError(
      d.allocateSlots(p, [
        { seqId: 'live', newTokenIds: [1] },
        { seqId: 'big', newTokenIds: range(1, 40) },
      ]),
      ['INVALID_ARGUMENT'],
      ['big'],
    );
    await expectKvError(d.allocateSlots(p, [], { commit: ['ghost'] }), ['INVALID_ARGUMENT'], ['ghost']);
    await expectKvError(d.stats('no-such-pool'), ['NOT_FOUND'], ['no-such-pool']);
    expect(await d.stats(p)).toEqual(before);
    expect(await d.getBlockTable(p, 'live')).toEqual(table);
  });

  it('resets a pool: every sequence freed, the prefix cache empty', async () => {
    const d = getDriver();
    const p = await pool(16, 4);
    await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 9) }]);
    await d.allocateSlots(p, [{ seqId: 'b', newTokenIds: range(50, 3) }], { commit: ['a'] });
    expect(await d.reset(p)).toBe(2);
    expect(await d.stats(p)).toMatchObject({ numUsedBlocks: 0, numFreeBlocks: 15, numCachedFreeBlocks: 0, numSequences: 0, prefixHitRate: 0 });
    const again = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 9) }]);
    expect(again.sequences[0].numComputedTokens).toBe(0);
  });

  it('keeps pools apart and re-registers by shape', async () => {
    const d = getDriver();
    const p1 = await pool(10, 4);
    const p2 = await pool(20, 8);
    await d.allocateSlots(p1, [{ seqId: 's', newTokenIds: range(1, 9) }]);
    await d.allocateSlots(p2, [{ seqId: 's', newTokenIds: range(1, 9) }]);
    expect(await d.stats(p1)).toMatchObject({ blockSize: 4, numBlocks: 9, numUsedBlocks: 3 });
    expect(await d.stats(p2)).toMatchObject({ blockSize: 8, numBlocks: 19, numUsedBlocks: 2 });
    expect(await d.registerPool(p1, 10, 4)).toBe(true);
    expect((await d.stats(p1)).numSequences).toBe(1);
    expect(await d.registerPool(p1, 12, 4)).toBe(false);
    expect(await d.stats(p1)).toMatchObject({ numBlocks: 11, numSequences: 0 });
  });

  it('frees the sequences of an owner whose lease expired', async () => {
    const d = getDriver();
    if (!d.advanceClock) return; // needs a service on an injectable clock
    const p = await pool(16, 4);
    const owner = `sched-${n}`;
    await d.renewLease(owner, 1000);
    await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 5) }, { seqId: 'b', newTokenIds: range(9, 2) }], { owner });
    await d.allocateSlots(p, [{ seqId: 'c', newTokenIds: range(1, 3) }], { owner: `other-${n}` });
    d.advanceClock(600);
    await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: [6] }], { owner }); // activity renews the lease
    d.advanceClock(600);
    expect((await d.getBlockTable(p, 'a')).numTokens).toBe(6);
    d.advanceClock(1001);
    await expectKvError(d.getBlockTable(p, 'a'), ['FAILED_PRECONDITION'], ['a', owner]);
    expect(await d.stats(p)).toMatchObject({ numSequences: 1, numUsedBlocks: 1 });
    expect(await d.renewLease(`late-${n}`, 10)).toBeGreaterThanOrEqual(2);
    // the presumed-dead owner cannot silently restart its sequence; another owner can
    await expectKvError(d.allocateSlots(p, [{ seqId: 'a', newTokenIds: [7] }], { owner }), ['FAILED_PRECONDITION'], ['a']);
    const fresh = await d.allocateSlots(p, [{ seqId: 'a', newTokenIds: range(1, 6) }], { owner: `new-${n}` });
    expect(fresh.sequences[0].ok).toBe(true);
  });
}
