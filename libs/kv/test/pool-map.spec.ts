// The pool map (internals trace): a hand-worked scenario (prefix hit, fork, free with a cached
// block left behind) and, under random traffic, runs that expand to exactly the states derived from
// snapshotBlocks' ref counts and cached ids; the run limit cuts the map.
import fc from 'fast-check';
import { KvCacheManager, type PoolRun } from '../src';

const expand = (runs: PoolRun[]) => runs.flatMap((r) => new Array<string>(r.numBlocks).fill(r.state));

function expected(m: KvCacheManager): string[] {
  const { refCounts, cachedBlockIds } = m.snapshotBlocks();
  const cached = new Set(cachedBlockIds);
  return refCounts.slice(1).map((refs, i) => {
    const hashed = cached.has(i + 1);
    return refs === 0 ? (hashed ? 'cached' : 'free') : refs > 1 ? 'shared' : hashed ? 'used_cached' : 'used';
  });
}

describe('KvCacheManager.poolMap', () => {
  it('hand-worked: a committed prefix, a prefix hit, a fork and a free', () => {
    const m = new KvCacheManager({ numBlocks: 9, blockSize: 2 }); // blocks 1..8
    m.allocateSlots([{ seqId: 'a', newTokenIds: [1, 2, 3, 4, 5] }]); // a: 3 blocks [1 2 3], not committed yet
    expect(m.poolMap()).toEqual([{ state: 'used', numBlocks: 3 }, { state: 'free', numBlocks: 5 }]);
    m.commit(['a']); // full blocks 1, 2 become cache entries
    m.allocateSlots([{ seqId: 'b', newTokenIds: [1, 2, 3, 4, 9] }]); // b hits blocks 1, 2 and gets block 4
    expect(m.getBlockTable('b').blockTable).toEqual([1, 2, 4]);
    expect(m.poolMap()).toEqual([{ state: 'shared', numBlocks: 2 }, { state: 'used', numBlocks: 2 }, { state: 'free', numBlocks: 4 }]);
    m.free(['a', 'b']);
    expect(m.poolMap()).toEqual([{ state: 'cached', numBlocks: 2 }, { state: 'free', numBlocks: 6 }]);
    expect(m.poolMap(1)).toEqual([{ state: 'cached', numBlocks: 2 }]);
  });

  it('expands to the states of snapshotBlocks under random allocate / commit / fork / free', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), seq: fc.nat(5), tokens: fc.array(fc.nat(3), { minLength: 1, maxLength: 7 }) }),
      fc.record({ kind: fc.constant('commit' as const), seq: fc.nat(5) }),
      fc.record({ kind: fc.constant('fork' as const), seq: fc.nat(5), child: fc.nat(5) }),
      fc.record({ kind: fc.constant('free' as const), seq: fc.nat(5) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const m = new KvCacheManager({ numBlocks: 12, blockSize: 2 });
        let forks = 0;
        for (const o of ops) {
          const id = `s${o.seq}`;
          const live = m.sequenceIds().includes(id);
          if (o.kind === 'alloc') m.allocateSlots([{ seqId: id, newTokenIds: o.tokens }]);
          else if (o.kind === 'commit' && live) m.commit([id]);
          else if (o.kind === 'fork' && live) m.fork(id, [`f${forks++}`]);
          else if (o.kind === 'free' && live) m.free([id]);
          const runs = m.poolMap();
          expect(expand(runs)).toEqual(expected(m));
          runs.forEach((r, i) => i > 0 && expect(r.state).not.toBe(runs[i - 1].state)); // maximal runs
        }
      }),
      { numRuns: 200 },
    );
  });
});
