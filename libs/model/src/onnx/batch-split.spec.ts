/*
 * splitBatch: groups keep padding under 2x, every row lands in exactly one sub-batch with its
 * token, position and slot, and logit rows map back to their original order (fast-check over
 * random batches), plus the hand-worked case of one long prefill chunk among decodes.
 */
import fc from 'fast-check';
import type { FlatBatch } from '../runner/types';
import { groupSequences, splitBatch } from './batch-split';

function batchOf(numNew: number[], logitPick: boolean[]): FlatBatch {
  const N = numNew.reduce((a, b) => a + b, 0);
  let start = 0;
  const seqs = numNew.map((n, s) => {
    const seq = { start, numNewTokens: n, contextLen: 100 + s + n, blockTable: Int32Array.of(s + 1) };
    start += n;
    return seq;
  });
  const logitRows = Array.from({ length: N }, (_, r) => r).filter((r) => logitPick[r % logitPick.length]);
  return {
    tokenIds: Int32Array.from({ length: N }, (_, r) => 1000 + r),
    positions: Int32Array.from({ length: N }, (_, r) => 2000 + r),
    slotMapping: Int32Array.from({ length: N }, (_, r) => 3000 + r),
    seqs,
    logitRows: Int32Array.from(logitRows.reverse()), // any order
  };
}

describe('splitBatch', () => {
  it('runs a 512-token chunk apart from 31 decodes, and decodes alone as one group', () => {
    expect(groupSequences([1, 1, 512, 1, ...Array(28).fill(1)]).map((g) => g.length)).toEqual([2, 30]);
    expect(groupSequences(Array(32).fill(1))).toEqual([Array.from({ length: 32 }, (_, i) => i)]);
    expect(groupSequences([7, 6, 5])).toEqual([[0, 1, 2]]); // 3 * 7 <= 2 * 18: dense enough
  });

  it('cuts a 512-token chunk into two pieces, the second seeing the first as cached context', () => {
    expect(splitBatch(batchOf([256], [true]))).toHaveLength(1); // the default piece size is 256
    expect(splitBatch(batchOf([257], [true])).map((p) => p.batch.seqs[0].numNewTokens)).toEqual([129, 128]);
    const parts = splitBatch(batchOf([512], [true]), 256);
    expect(parts.map((p) => p.batch.seqs[0])).toEqual([
      { start: 0, numNewTokens: 256, contextLen: 100 + 256, blockTable: Int32Array.of(1) },
      { start: 0, numNewTokens: 256, contextLen: 100 + 512, blockTable: Int32Array.of(1) },
    ]);
  });

  it('covers every row once with its data, in sequence order, pads under 2x, and maps logit rows back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
        fc.integer({ min: 1, max: 50 }),
        (numNew, pick, maxRows) => {
        const batch = batchOf(numNew, pick);
        const parts = splitBatch(batch, maxRows);
        const nextRow = batch.seqs.map((s) => s.start); // each sequence's rows must come in order
        for (const { batch: b } of parts) {
          for (const s of b.seqs) {
            const orig = b.tokenIds[s.start] - 1000;
            const k = batch.seqs.findIndex((q) => orig >= q.start && orig < q.start + q.numNewTokens);
            expect(orig).toBe(nextRow[k]);
            expect(s.numNewTokens).toBeLessThanOrEqual(maxRows);
            nextRow[k] += s.numNewTokens;
            const q = batch.seqs[k];
            expect(s.contextLen).toBe(q.contextLen - q.numNewTokens + (nextRow[k] - q.start)); // cached = rows before
          }
        }
        const seen: number[] = [];
        const logitSeen = new Array(batch.logitRows.length).fill(0);
        for (const { batch: b, logitIndex } of parts) {
          const tmax = Math.max(...b.seqs.map((s) => s.numNewTokens));
          expect(b.seqs.length * tmax).toBeLessThanOrEqual(Math.max(2 * b.tokenIds.length, tmax));
          b.tokenIds.forEach((tok, r) => {
            const orig = tok - 1000; // the original flat row
            seen.push(orig);
            expect([b.positions[r], b.slotMapping[r]]).toEqual([2000 + orig, 3000 + orig]);
          });
          logitIndex.forEach((orig, i) => {
            logitSeen[orig]++;
            expect(b.tokenIds[b.logitRows[i]] - 1000).toBe(batch.logitRows[orig]);
          });
        }
        expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: batch.tokenIds.length }, (_, r) => r));
        expect(logitSeen.every((n) => n === 1)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});
