import { router } from '@llm/proto';
import { ServerError, Status } from '@llm/platform';
import { decodeMatrix, encodeMatrix, halfToFloat } from '../src';

function u16(...v: number[]): Buffer {
  const b = Buffer.alloc(2 * v.length);
  v.forEach((x, i) => b.writeUInt16LE(x, 2 * i));
  return b;
}

describe('tensor codec', () => {
  it('binary16: hand-worked bit patterns', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.333251953125, 12); // 2^-2 * (1 + 341/1024)
    expect(halfToFloat(0x7bff)).toBe(65504); // largest finite
    expect(halfToFloat(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });

  it('decodes f16 and bf16 rows, and round-trips f32', () => {
    const f16 = decodeMatrix({ dtype: router.DType.D_TYPE_F16, shape: [1, 2], data: u16(0x3c00, 0xc000) }, 'hidden', 2);
    expect(Array.from(f16.data)).toEqual([1, -2]);
    // bf16 0x4049 -> f32 bits 0x40490000 = 3.140625
    const bf16 = decodeMatrix({ dtype: router.DType.D_TYPE_BF16, shape: [2, 1], data: u16(0x4049, 0xbf80) }, 'hidden', 1);
    expect(Array.from(bf16.data)).toEqual([3.140625, -1]);
    expect(bf16.rows).toBe(2);
    const x = Float32Array.from([0.1, -7, 3e-9, 12345.5, 0, 1]);
    const back = decodeMatrix(encodeMatrix(x, 3, 2), 'hidden', 2);
    expect(Array.from(back.data)).toEqual(Array.from(x));
  });

  it('rejects bad tensors naming the field', () => {
    const bad = (t: router.Tensor | undefined) => {
      try {
        decodeMatrix(t, 'hidden', 4);
      } catch (e) {
        expect(e).toBeInstanceOf(ServerError);
        expect((e as ServerError).code).toBe(Status.INVALID_ARGUMENT);
        return (e as ServerError).details;
      }
      throw new Error('accepted');
    };
    expect(bad(undefined)).toMatch(/field 'hidden': missing/);
    expect(bad({ dtype: router.DType.D_TYPE_UNSPECIFIED, shape: [1, 4], data: Buffer.alloc(16) })).toMatch(/hidden\.dtype.*D_TYPE_UNSPECIFIED is not supported/);
    expect(bad({ dtype: router.DType.D_TYPE_F32, shape: [4], data: Buffer.alloc(16) })).toMatch(/hidden\.shape.*must be 2-D/);
    expect(bad({ dtype: router.DType.D_TYPE_F32, shape: [2, 3], data: Buffer.alloc(24) })).toMatch(/has hidden size 3, expected 4/);
    expect(bad({ dtype: router.DType.D_TYPE_F16, shape: [2, 4], data: Buffer.alloc(17) })).toMatch(/17 bytes, expected 2 x 4 x 2 = 16/);
  });
});
