/**
 * llm.router.v1 Tensor <-> Float32Array: raw little-endian bytes plus dtype and shape
 * (ARCHITECTURE.md: tensors never cross the wire as repeated float). Decodes f32, f16 and bf16
 * into f32; always encodes f32. Every rejection names the field and what was expected.
 *
 * Not a general tensor library: 2-D row-major only, which is all the Router contract carries.
 * Formats: IEEE 754 binary16 (1 sign, 5 exponent, 10 mantissa bits) and bfloat16 (the upper
 * 16 bits of a binary32).
 */
import { endianness } from 'node:os';
import { router } from '@llm/proto';
import { invalidArgument } from '@llm/platform';

if (endianness() !== 'LE') throw new Error('the router exchanges tensors as little-endian bytes and needs a little-endian host');

const BYTES: Partial<Record<router.DType, number>> = {
  [router.DType.D_TYPE_F32]: 4,
  [router.DType.D_TYPE_F16]: 2,
  [router.DType.D_TYPE_BF16]: 2,
};

/** binary16 bits -> number: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** A (rows, cols) tensor as f32, copied into fresh aligned memory. `field` names it in errors. */
export function decodeMatrix(t: router.Tensor | undefined, field: string, cols: number): { data: Float32Array; rows: number } {
  if (!t) throw invalidArgument(field, `missing (expected a (T, ${cols}) tensor)`);
  const width = BYTES[t.dtype];
  if (width === undefined) {
    throw invalidArgument(`${field}.dtype`, `${router.dTypeToJSON(t.dtype)} is not supported (expected D_TYPE_F32, D_TYPE_F16 or D_TYPE_BF16)`);
  }
  if (t.shape.length !== 2) throw invalidArgument(`${field}.shape`, `[${t.shape.join(', ')}] must be 2-D (T, ${cols})`);
  const [rows, c] = t.shape;
  if (c !== cols) throw invalidArgument(`${field}.shape`, `[${rows}, ${c}] has hidden size ${c}, expected ${cols}`);
  const n = rows * cols;
  if (t.data.length !== n * width) {
    throw invalidArgument(`${field}.data`, `${t.data.length} bytes, expected ${rows} x ${cols} x ${width} = ${n * width} for ${router.dTypeToJSON(t.dtype)}`);
  }
  const out = new Float32Array(n);
  if (width === 4) {
    new Uint8Array(out.buffer).set(t.data);
  } else {
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const bf16 = t.dtype === router.DType.D_TYPE_BF16;
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) {
      const h = view.getUint16(2 * i, true);
      if (bf16) bits[i] = h << 16;
      else out[i] = halfToFloat(h);
    }
  }
  return { data: out, rows };
}

/** f32 (rows, cols) -> Tensor; the bytes are a view of `data`, not a copy. */
export function encodeMatrix(data: Float32Array, rows: number, cols: number): router.Tensor {
  return {
    dtype: router.DType.D_TYPE_F32,
    shape: [rows, cols],
    data: Buffer.from(data.buffer, data.byteOffset, rows * cols * 4),
  };
}
