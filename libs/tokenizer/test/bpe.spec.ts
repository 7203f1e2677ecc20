// The merge loop: the heap path (long pieces) equals the array scan (short pieces) on
// random inputs; a single 4 MB piece with no whitespace encodes with O(n log n) heap work;
// a hand-worked merge table gives the expected ids.
import fc from 'fast-check';
import { getEncoding } from '../src';
import { HEAP_THRESHOLD, mergeStats, mergeSymbols } from '../src/bpe';
import { PairTable } from '../src/pair-table';
import { utf8Encode } from '../src/bytes';

/** Scan path on any length: the observer forces it. */
const byScan = (ids: number[], t: PairTable) => mergeSymbols(ids.slice(), t, () => undefined);

describe('mergeSymbols', () => {
  it('applies merges lowest rank first, leftmost on ties (hand-worked)', () => {
    // symbols a=0 b=1 c=2; merges: (a,b)->3 rank 0, (b,c)->4 rank 1, (3,c)->5 rank 2
    const t = new PairTable();
    t.set(0, 1, 0, 3);
    t.set(1, 2, 1, 4);
    t.set(3, 2, 2, 5);
    expect(mergeSymbols([0, 1, 2], t)).toEqual([5]); // ab c -> abc
    expect(mergeSymbols([1, 2, 0, 1], t)).toEqual([4, 3]); // b c a b: (a,b) rank 0 first
    expect(mergeSymbols([0, 1, 0, 1], t)).toEqual([3, 3]);
    expect(mergeSymbols([2, 2], t)).toEqual([2, 2]);
  });

  it('heap path equals the scan path on random byte strings (cl100k merges)', () => {
    const enc = getEncoding('cl100k_base');
    const pairs = enc.bpe.pairs;
    const arb = fc.array(fc.constantFrom('a', 'b', 'e', 'r', 'ab', ' ', 'é', '🎉', 'ing', 'the', '0', '='), { minLength: 20, maxLength: 200 });
    fc.assert(
      fc.property(arb, (parts) => {
        const ids = Array.from(utf8Encode(parts.join('')), (b) => enc.bpe.byteIds[b]);
        expect(ids.length).toBeGreaterThan(HEAP_THRESHOLD / 4);
        const heap = mergeSymbols(ids.slice(), pairs);
        expect(heap).toEqual(byScan(ids, pairs));
      }),
      { numRuns: 60 },
    );
  });

  it('encodes a 1 MB piece without whitespace with O(n log n) heap work', () => {
    const enc = getEncoding('cl100k_base');
    const n = 1_000_000;
    const unit = 'abcdefghijklmnopqrstuvwxyzäöü';
    const text = unit.repeat(Math.ceil(n / unit.length)).slice(0, n); // one \p{L}+ piece
    const before = { ...mergeStats };
    const ids = enc.encodeOrdinary(text);
    const bytes = utf8Encode(text).length;
    const pushes = mergeStats.heapPushes - before.heapPushes;
    const pops = mergeStats.heapPops - before.heapPops;
    // every merge removes one symbol and pushes at most 2 pairs: pushes <= n - 1 + 2 * merges < 3n
    expect(pushes).toBeLessThan(3 * bytes);
    expect(pops).toBeLessThanOrEqual(pushes);
    expect(enc.decode(ids)).toBe(text);
    // the same piece, cut where BPE cannot merge across (the repeating unit), gives the same ids
    const unitIds = enc.encodeOrdinary(unit.repeat(40));
    expect(ids.slice(0, unitIds.length - 8)).toEqual(unitIds.slice(0, unitIds.length - 8));
  });
});
