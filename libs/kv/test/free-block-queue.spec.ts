// FreeBlockQueue against a plain array as the reference model (fast-check).
import fc from 'fast-check';
import { FreeBlockQueue } from '../src';

type QOp = { op: 'append' | 'prepend' | 'remove' | 'popLeft'; id: number };

describe('FreeBlockQueue', () => {
  it('matches an array model under random append/prepend/remove/popLeft', () => {
    const opArb = fc.record({ op: fc.constantFrom<QOp['op']>('append', 'prepend', 'remove', 'popLeft'), id: fc.nat(15) });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const q = new FreeBlockQueue(16);
        const model: number[] = [];
        for (const { op, id } of ops) {
          const inModel = model.includes(id);
          if (op === 'append' && !inModel) {
            q.append(id);
            model.push(id);
          } else if (op === 'prepend' && !inModel) {
            q.prepend(id);
            model.unshift(id);
          } else if (op === 'remove' && inModel) {
            q.remove(id);
            model.splice(model.indexOf(id), 1);
          } else if (op === 'popLeft') {
            expect(q.popLeft()).toBe(model.length ? model.shift() : -1);
          }
          expect(q.toArray()).toEqual(model);
          expect(q.numFreeBlocks).toBe(model.length);
          expect(q.peekLeft()).toBe(model.length ? model[0] : -1);
          for (let b = 0; b < 16; b++) expect(q.has(b)).toBe(model.includes(b));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('rejects double insertion, removal of an absent block and out-of-range ids', () => {
    const q = new FreeBlockQueue(4);
    q.append(2);
    expect(() => q.append(2)).toThrow(/already in the free queue/);
    expect(() => q.remove(3)).toThrow(/not in the free queue/);
    expect(() => q.append(4)).toThrow(/outside 0..3/);
    expect(() => new FreeBlockQueue(-1)).toThrow(/non-negative integer/);
  });
});
