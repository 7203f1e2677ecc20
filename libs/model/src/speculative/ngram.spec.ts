// Prompt lookup: hand-worked suffix matches (longest n first, latest occurrence, at most k tokens, overlapping copies).
import { proposeNgram } from './ngram';

describe('proposeNgram', () => {
  it('continues the latest earlier occurrence of the longest recurring suffix', () => {
    // a b c d e f b c d | suffix "b c d" at 1..3 -> "e f b"
    expect(proposeNgram([1, 2, 3, 4, 5, 6, 2, 3, 4], 3)).toEqual([5, 6, 2]);
    expect(proposeNgram([1, 2, 3, 4, 5, 6, 2, 3, 4], 1)).toEqual([5]);
    // "x y" occurs at 0 and 3; the latest (3) wins: followed by 9
    expect(proposeNgram([7, 8, 1, 7, 8, 9, 0, 7, 8], 2, { maxN: 2 })).toEqual([9, 0]);
  });

  it('falls back to shorter suffixes, stops at the end of the context, and proposes nothing without a match', () => {
    // no earlier "5 6" or "4 5 6", but an earlier 6 (at 1) followed by 2 3
    expect(proposeNgram([1, 6, 2, 3, 4, 5, 6], 4)).toEqual([2, 3, 4, 5]);
    // loops extend past the context by copying the proposal itself: "1 1 1" last seen at 1 -> 1, 1, ...
    expect(proposeNgram([1, 1, 1, 1, 1], 5)).toEqual([1, 1, 1, 1, 1]);
    // period 3: "3 1 2" last seen at 2, copied from 5: 3 1 2, then the copy's own 3 1
    expect(proposeNgram([1, 2, 3, 1, 2, 3, 1, 2], 5)).toEqual([3, 1, 2, 3, 1]);
    expect(proposeNgram([1, 2, 3, 4], 3)).toEqual([]);
    expect(proposeNgram([1, 2, 1], 3, { minN: 2 })).toEqual([]);
    expect(proposeNgram([5], 3)).toEqual([]);
    expect(proposeNgram([1, 2, 1, 2], 0)).toEqual([]);
  });
});
