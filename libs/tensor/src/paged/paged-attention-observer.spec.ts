/*
 * The paged kernel's observer (the internals trace): every reported row equals a naive softmax of
 * q . k_j / sqrt(HS) over the visible (causal) keys, computed here in float64 from the contiguous
 * K the test wrote into the pool, within 1e-5, and sums to 1; only the selected sequences and heads
 * are reported, with the GQA kv head; the output is bit-identical with and without an observer.
 */
import fc from 'fast-check';
import { pagedAttention, slotOf, writeKvSlots, type PagedAttentionObserver } from './index';

function rng(seed: number): () => number {
  let a = seed >>> 0; // mulberry32
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = (n: number, r: () => number, amp = 1) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * amp);

/** softmax_j(q . k_j / sqrt(HS)) for j = 0..pos, in float64 from the contiguous keys k (ctx, NKV, HS). */
function naiveRow(q: Float32Array, qOff: number, k: Float32Array, kvHead: number, pos: number, NKV: number, HS: number): number[] {
  const s: number[] = [];
  for (let j = 0; j <= pos; j++) {
    let dot = 0;
    for (let d = 0; d < HS; d++) dot += q[qOff + d] * k[(j * NKV + kvHead) * HS + d];
    s.push(dot / Math.sqrt(HS));
  }
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

describe('pagedAttention observer', () => {
  it('reports rows equal to the naive causal softmax (1e-5) that sum to 1, for the selected sequences and heads only', () => {
    const arb = fc.record({
      numKvHeads: fc.integer({ min: 1, max: 3 }),
      group: fc.integer({ min: 1, max: 3 }),
      headDim: fc.integer({ min: 1, max: 8 }),
      blockSize: fc.integer({ min: 1, max: 5 }),
      seqs: fc.array(fc.record({ cached: fc.integer({ min: 0, max: 13 }), numNew: fc.integer({ min: 1, max: 6 }), observed: fc.boolean() }), { minLength: 1, maxLength: 4 }),
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    });
    fc.assert(
      fc.property(arb, (c) => {
        const r = rng(c.seed);
        const NKV = c.numKvHeads;
        const NH = NKV * c.group;
        const HS = c.headDim;
        const B = c.blockSize;
        const rowSize = NKV * HS;
        const blocksPer = c.seqs.map((s) => Math.ceil((s.cached + s.numNew) / B));
        const numBlocks = blocksPer.reduce((a, b) => a + b, 0) + 1;
        const ids = Array.from({ length: numBlocks }, (_, i) => i).sort(() => r() - 0.5);
        const kPool = rand(numBlocks * B * rowSize, r, 50);
        const vPool = rand(numBlocks * B * rowSize, r, 50);
        const N = c.seqs.reduce((a, s) => a + s.numNew, 0);
        const q = rand(N * NH * HS, r, 2);
        const positions = new Int32Array(N);
        const views = [];
        const keys: Float32Array[] = [];
        let row = 0;
        let next = 0;
        for (const [si, s] of c.seqs.entries()) {
          const ctx = s.cached + s.numNew;
          const table = Int32Array.from(ids.slice(next, next + blocksPer[si]));
          next += blocksPer[si];
          const k = rand(ctx * rowSize, r, 2);
          writeKvSlots(kPool, vPool, k, rand(ctx * rowSize, r), Int32Array.from({ length: ctx }, (_, p) => slotOf(table, p, B)), rowSize);
          keys.push(k);
          for (let t = 0; t < s.numNew; t++) positions[row + t] = s.cached + t;
          views.push({ start: row, numNewTokens: s.numNew, blockTable: table });
          row += s.numNew;
        }
        const heads = Array.from({ length: NH }, (_, h) => h).filter((h) => h % 2 === 0); // every other head
        const rows: Array<{ si: number; row: number; head: number; kvHead: number; pos: number; w: Float32Array }> = [];
        const observer: PagedAttentionObserver = {
          headsOf: (si) => (c.seqs[si].observed ? heads : undefined),
          onRow: (si, rowIndex, head, kvHead, pos, w) => rows.push({ si, row: rowIndex, head, kvHead, pos, w }),
        };
        const sizes = { numHeads: NH, numKvHeads: NKV, headDim: HS, blockSize: B };
        const plain = new Float32Array(N * NH * HS);
        const observed = new Float32Array(N * NH * HS);
        pagedAttention(plain, q, kPool, vPool, positions, views, sizes);
        pagedAttention(observed, q, kPool, vPool, positions, views, sizes, observer);
        expect(observed).toEqual(plain);
        const expected = c.seqs.reduce((a, s) => a + (s.observed ? s.numNew * heads.length : 0), 0);
        expect(rows.length).toBe(expected);
        for (const x of rows) {
          expect(c.seqs[x.si].observed && heads.includes(x.head)).toBe(true);
          expect(x.kvHead).toBe(Math.floor(x.head / c.group));
          expect(x.pos).toBe(positions[x.row]);
          expect(x.w.length).toBe(x.pos + 1);
          const want = naiveRow(q, (x.row * NH + x.head) * HS, keys[x.si], x.kvHead, x.pos, NKV, HS);
          for (let j = 0; j <= x.pos; j++) if (Math.abs(x.w[j] - want[j]) > 1e-5) throw new Error(`row ${x.row} head ${x.head} key ${j}: ${x.w[j]} vs naive ${want[j]}`);
          expect(Math.abs(x.w.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('gives the hand-worked row (3/4, 1/4) through a block table', () => {
    // As the kernel's hand-worked test: scores (ln 3, 0) / softmax (3/4, 1/4) at position 1, table [2, 0].
    const kPool = new Float32Array([0, 0, 9, 9, 1, 0]);
    const q = new Float32Array([Math.SQRT2 * Math.log(3), 0]);
    const got: number[][] = [];
    pagedAttention(new Float32Array(2), q, kPool, kPool, [1], [{ start: 0, numNewTokens: 1, blockTable: [2, 0] }], { numHeads: 1, numKvHeads: 1, headDim: 2, blockSize: 1 }, {
      headsOf: () => [0],
      onRow: (_s, _r, _h, _g, _p, w) => got.push(Array.from(w)),
    });
    expect(got).toHaveLength(1);
    expect(got[0][0]).toBeCloseTo(0.75, 6);
    expect(got[0][1]).toBeCloseTo(0.25, 6);
  });
});
