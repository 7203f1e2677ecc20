// Block hashes: the byte layout written out by hand, and the chaining properties.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { hashBlock, hashFullBlocks } from '../src';

/** uint32 little-endian bytes, written byte by byte. */
const le32 = (xs: number[]): Buffer => Buffer.from(xs.flatMap((x) => [x & 255, (x >>> 8) & 255, (x >>> 16) & 255, x >>> 24]));

describe('block hashes', () => {
  it('hashes block 0 as SHA-256(root, salt marker, LE uint32 tokens) and chains the parent digest', () => {
    const root = Buffer.from('llm.kv.v1 prefix root');
    const h0 = createHash('sha256').update(Buffer.concat([root, Buffer.from([0]), le32([1, 2, 70000, 4])])).digest();
    expect(hashBlock(null, [1, 2, 70000, 4], 0, 4)).toBe(h0.toString('base64'));
    const h1 = createHash('sha256').update(Buffer.concat([h0, le32([5, 6, 7, 8])])).digest('base64');
    expect(hashFullBlocks([], [1, 2, 70000, 4, 5, 6, 7, 8, 9], 4)).toEqual([h0.toString('base64'), h1]);
    const salted = Buffer.concat([root, Buffer.from([1]), le32([2]), Buffer.from('t1'), le32([1, 2, 70000, 4])]);
    expect(hashBlock(null, [1, 2, 70000, 4], 0, 4, 't1')).toBe(createHash('sha256').update(salted).digest('base64'));
  });

  it('gives equal hashes exactly to equal prefixes, and a different salt changes every block', () => {
    const tokens = fc.array(fc.nat(100), { minLength: 8, maxLength: 40 });
    fc.assert(
      fc.property(tokens, tokens, fc.integer({ min: 1, max: 8 }), (a, b, bs) => {
        const ha = hashFullBlocks([], a, bs);
        const hb = hashFullBlocks([], b, bs);
        for (let i = 0; i < Math.min(ha.length, hb.length); i++) {
          const samePrefix = a.slice(0, (i + 1) * bs).join() === b.slice(0, (i + 1) * bs).join();
          expect(ha[i] === hb[i]).toBe(samePrefix);
        }
        const salted = hashFullBlocks([], a, bs, 'tenant');
        salted.forEach((h, i) => expect(h).not.toBe(ha[i]));
      }),
      { numRuns: 100 },
    );
  });

  it('hashes incrementally: appending in pieces equals hashing all at once', () => {
    const tokens = Array.from({ length: 37 }, (_, i) => (i * 7919) % 1000);
    const inc = hashFullBlocks([], tokens.slice(0, 16), 8);
    hashFullBlocks(inc, tokens.slice(16, 32), 8);
    expect(inc).toEqual(hashFullBlocks([], tokens.slice(0, 32), 8));
    expect(inc).toHaveLength(4);
  });
});
