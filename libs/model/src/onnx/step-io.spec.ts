/*
 * stepLayout on a hand-worked batch (block size 4, GQA group 2):
 *   seq 0: one decode token at position 5 (cached 0..4), blocks [3, 1], row 0
 *   seq 1: a prefill chunk of 3 tokens at positions 2..4 (cached 0..1), blocks [2, 5], rows 1..3
 * so S = 2, Tmax = 3, Pmax = 5. Plus RopeTableCache against cos/sin of pos * inv_freq, and writeNewKv.
 */
import { createKvPool } from '../runner/kv-pool';
import type { FlatBatch } from '../runner/types';
import { MASK_NEG, RopeTableCache, stepLayout, writeNewKv } from './step-io';

const batch: FlatBatch = {
  tokenIds: Int32Array.of(10, 11, 12, 13),
  positions: Int32Array.of(5, 2, 3, 4),
  slotMapping: Int32Array.of(5, 10, 11, 20),
  seqs: [
    { start: 0, numNewTokens: 1, contextLen: 6, blockTable: Int32Array.of(3, 1) },
    { start: 1, numNewTokens: 3, contextLen: 5, blockTable: Int32Array.of(2, 5) },
  ],
  logitRows: Int32Array.of(0, 3),
};

describe('stepLayout', () => {
  const L = stepLayout(batch, 4, 2, 2);

  it('pads each sequence to Tmax rows and maps flat rows back', () => {
    expect([L.numSeqs, L.maxNew, L.maxPast, L.maxPosition]).toEqual([2, 3, 5, 5]);
    expect(Array.from(L.padRows)).toEqual([0, 0, 0, 1, 2, 3]); // seq 0 pads with its own row
    expect(Array.from(L.unpadRows)).toEqual([0, 3, 4, 5]); // s * Tmax + t
    expect(Array.from(L.padPos, Number)).toEqual([5, 5, 5, 2, 3, 4]);
  });

  it('lists the cached slots through the block tables, padding with slot 0', () => {
    // seq 0: positions 0..3 in block 3 (slots 12..15), position 4 in block 1 (slot 4)
    // seq 1: positions 0..1 in block 2 (slots 8, 9)
    expect(Array.from(L.pastSlots)).toEqual([12, 13, 14, 15, 4, 8, 9, 0, 0, 0]);
    // past_rows (S, NKV=2, Pmax): slot * 2 + h
    expect(Array.from(L.pastRows)).toEqual([24, 26, 28, 30, 8, 25, 27, 29, 31, 9, 16, 18, 0, 0, 0, 17, 19, 1, 1, 1]);
  });

  it('masks by cache length and causally within the step, the same for each head of a group', () => {
    const cols = L.maxPast + L.maxNew; // 8
    const row = (s: number, g: number, t: number) =>
      Array.from(L.attnMask.subarray(((s * 2 + g) * 3 + t) * cols, ((s * 2 + g) * 3 + t + 1) * cols), (x) => (x === 0 ? 1 : 0));
    expect(L.attnMask.every((x) => x === 0 || x === MASK_NEG)).toBe(true);
    for (const g of [0, 1]) {
      expect(row(0, g, 0)).toEqual([1, 1, 1, 1, 1, 1, 0, 0]); // 5 cached + itself
      expect(row(1, g, 0)).toEqual([1, 1, 0, 0, 0, 1, 0, 0]); // 2 cached + new token 0
      expect(row(1, g, 1)).toEqual([1, 1, 0, 0, 0, 1, 1, 0]);
      expect(row(1, g, 2)).toEqual([1, 1, 0, 0, 0, 1, 1, 1]);
    }
  });

  it('rejects rows no sequence covers', () => {
    const gap = { ...batch, seqs: [batch.seqs[1]] };
    expect(() => stepLayout(gap, 4, 2, 2)).toThrow('flat row 0 belongs to no sequence');
  });
});

describe('RopeTableCache', () => {
  it('holds cos/sin(f32(pos * inv_freq)) and grows on demand', () => {
    const inv = Float32Array.of(1, 0.1);
    const tables = new RopeTableCache(inv);
    const { cos, sin } = tables.get(300);
    expect(cos.length).toBe(600);
    expect(cos[2 * 299 + 1]).toBeCloseTo(Math.cos(Math.fround(299 * Math.fround(0.1))), 6);
    expect(sin[2 * 3]).toBeCloseTo(Math.sin(3), 6);
  });
});

describe('writeNewKv', () => {
  it('copies row (s, t) of each layer to slotMapping of the flat row', () => {
    const pool = createKvPool({ numBlocks: 6, blockSize: 4, numLayers: 2, numKvHeads: 1, headDim: 2 });
    const L = stepLayout(batch, 4, 1, 1);
    // k_new (S=2, Tmax=3, Lseg=2 * D=2): value = 100 s + 10 t + layer, per float index
    const kNew = new Float32Array(2 * 3 * 2 * 2);
    for (let s = 0; s < 2; s++) for (let t = 0; t < 3; t++) for (let l = 0; l < 2; l++) kNew.fill(100 * s + 10 * t + l, ((s * 3 + t) * 2 + l) * 2, ((s * 3 + t) * 2 + l + 1) * 2);
    writeNewKv(pool, batch, L, [0, 1], kNew, kNew.map((x) => -x));
    expect(Array.from(pool.k[1].subarray(5 * 2, 6 * 2))).toEqual([1, 1]); // seq 0, t 0, layer 1 -> slot 5
    expect(Array.from(pool.k[0].subarray(20 * 2, 21 * 2))).toEqual([120, 120]); // seq 1, t 2 -> slot 20
    expect(Array.from(pool.v[0].subarray(11 * 2, 12 * 2))).toEqual([-110, -110]);
    expect(pool.k[0][6 * 2]).toBe(0); // seq 0's padded row t = 1 is not written anywhere
  });
});
