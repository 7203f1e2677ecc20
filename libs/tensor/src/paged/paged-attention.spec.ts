/*
 * Paged flash attention against the library's naive reference (attentionNaive), run on each
 * sequence's context gathered into contiguous K/V. Random block placement (shuffled physical ids,
 * garbage in every unused slot), random block sizes, GQA groupings (MHA, GQA, MQA), and mixes of
 * prefill chunks (with and without cached context) and single-token decodes.
 */
import fc from 'fast-check';
import { attentionNaive } from '../attention';
import { pagedAttention, slotOf, writeKvSlots, copyBlock } from './index';

function rng(seed: number): () => number {
  // mulberry32: a small deterministic generator for test data
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randArray(n: number, r: () => number, amp = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * amp;
  return a;
}

/** The library's naive reference over one sequence's contiguous context: q (T, NH, HS) at positions p0..p0+T-1. */
function naiveCausal(
  q: Float32Array, k: Float32Array, v: Float32Array,
  T: number, p0: number, NH: number, NKV: number, HS: number,
): Float32Array {
  const out = new Float32Array(T * NH * HS);
  attentionNaive(out, q, k, v, { numQueries: T, numKeys: p0 + T, numHeads: NH, numKvHeads: NKV, headDim: HS, queryOffset: p0 });
  return out;
}

const caseArb = fc.record({
  numKvHeads: fc.integer({ min: 1, max: 3 }),
  group: fc.integer({ min: 1, max: 3 }),
  headDim: fc.integer({ min: 1, max: 8 }),
  blockSize: fc.integer({ min: 1, max: 5 }),
  spareBlocks: fc.integer({ min: 0, max: 4 }),
  seqs: fc.array(
    fc.record({ cached: fc.integer({ min: 0, max: 13 }), numNew: fc.integer({ min: 1, max: 6 }) }),
    { minLength: 1, maxLength: 4 },
  ),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

describe('pagedAttention', () => {
  it('equals naive causal attention over random block tables, block sizes, GQA groupings and chunk mixes', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const r = rng(c.seed);
        const NKV = c.numKvHeads;
        const NH = NKV * c.group;
        const HS = c.headDim;
        const B = c.blockSize;
        const rowSize = NKV * HS;
        const blocksPerSeq = c.seqs.map((s) => Math.ceil((s.cached + s.numNew) / B));
        const numBlocks = blocksPerSeq.reduce((a, b) => a + b, 0) + c.spareBlocks;
        // shuffled physical ids: each sequence gets a random, non-contiguous set of blocks
        const ids = Array.from({ length: numBlocks }, (_, i) => i);
        for (let i = ids.length - 1; i > 0; i--) {
          const j = Math.floor(r() * (i + 1));
          [ids[i], ids[j]] = [ids[j], ids[i]];
        }
        const kPool = randArray(numBlocks * B * rowSize, r, 50); // garbage everywhere a slot is unused
        const vPool = randArray(numBlocks * B * rowSize, r, 50);
        const N = c.seqs.reduce((a, s) => a + s.numNew, 0);
        const q = randArray(N * NH * HS, r);
        const positions = new Int32Array(N);
        const views = [];
        const contexts = [];
        let row = 0;
        let next = 0;
        for (let si = 0; si < c.seqs.length; si++) {
          const s = c.seqs[si];
          const ctx = s.cached + s.numNew;
          const table = Int32Array.from(ids.slice(next, next + blocksPerSeq[si]));
          next += blocksPerSeq[si];
          const k = randArray(ctx * rowSize, r);
          const v = randArray(ctx * rowSize, r);
          const slots = Int32Array.from({ length: ctx }, (_, p) => slotOf(table, p, B));
          writeKvSlots(kPool, vPool, k, v, slots, rowSize);
          for (let t = 0; t < s.numNew; t++) positions[row + t] = s.cached + t;
          views.push({ start: row, numNewTokens: s.numNew, blockTable: table });
          contexts.push({ k, v });
          row += s.numNew;
        }
        const out = new Float32Array(N * NH * HS);
        pagedAttention(out, q, kPool, vPool, positions, views, { numHeads: NH, numKvHeads: NKV, headDim: HS, blockSize: B });
        for (let si = 0; si < c.seqs.length; si++) {
          const { start, numNewTokens } = views[si];
          const qs = q.subarray(start * NH * HS, (start + numNewTokens) * NH * HS);
          const want = naiveCausal(qs, contexts[si].k, contexts[si].v, numNewTokens, c.seqs[si].cached, NH, NKV, HS);
          const got = out.subarray(start * NH * HS, (start + numNewTokens) * NH * HS);
          for (let i = 0; i < want.length; i++) {
            if (Math.abs(got[i] - want[i]) > 1e-5) {
              throw new Error(`seq ${si} element ${i}: paged ${got[i]} vs naive ${want[i]}`);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('gives a hand-worked result through a block table', () => {
    // blockSize 1, slots 0..2, NKV 1, HS 2; table [2, 0]: pos0 -> slot 2, pos1 -> slot 0; slot 1 is garbage.
    // k(pos0) = (1, 0), k(pos1) = (0, 0); q = (sqrt(2) ln 3, 0) at pos 1:
    // scores = q.k / sqrt(2) = (ln 3, 0) -> softmax = (3/4, 1/4)
    // out = 3/4 v(pos0) + 1/4 v(pos1) = 3/4 (2, 0) + 1/4 (4, 6) = (2.5, 1.5)
    const kPool = new Float32Array([0, 0, 9, 9, 1, 0]);
    const vPool = new Float32Array([4, 6, 9, 9, 2, 0]);
    const out = new Float32Array(2);
    const q = new Float32Array([Math.SQRT2 * Math.log(3), 0]);
    pagedAttention(out, q, kPool, vPool, [1], [{ start: 0, numNewTokens: 1, blockTable: [2, 0] }], {
      numHeads: 1, numKvHeads: 1, headDim: 2, blockSize: 1,
    });
    expect(out[0]).toBeCloseTo(2.5, 6);
    expect(out[1]).toBeCloseTo(1.5, 6);
  });

  it('rejects a block id outside the pool, naming the sequence and logical block', () => {
    const pool = new Float32Array(4 * 2); // 4 slots, NKV 1, HS 2, blockSize 2 -> 2 blocks
    const out = new Float32Array(2);
    expect(() =>
      pagedAttention(out, new Float32Array(2), pool, pool, [2], [{ start: 0, numNewTokens: 1, blockTable: [0, 5] }], {
        numHeads: 1, numKvHeads: 1, headDim: 2, blockSize: 2,
      }),
    ).toThrow(/sequence 0: blockTable\[1\] = 5 is outside the pool/);
  });

  it('copyBlock copies one whole block and leaves the others', () => {
    const pool = Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => i); // 3 blocks, blockSize 2, rowSize 2
    copyBlock(pool, 2, 0, 2, 2);
    expect(Array.from(pool)).toEqual([8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('writeKvSlots rejects a slot outside the pool before writing anything', () => {
    const k = new Float32Array(4);
    const before = Array.from(k);
    expect(() => writeKvSlots(k, k, new Float32Array([1, 1, 1, 1]), new Float32Array(4), [0, 2], 2)).toThrow(
      /slotMapping\[1\] = 2 is outside the pool/,
    );
    expect(Array.from(k)).toEqual(before);
  });
});
