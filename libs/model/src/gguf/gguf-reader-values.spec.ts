/*
 * The reader against ggml docs/gguf.md on files written byte by byte below (not by this
 * project's writer): every metadata value type (the 64-bit ones beyond 2^53 as bigints, arrays
 * of strings, nested arrays), a version 2 file, a general.alignment of 64 that moves the data
 * section and the tensors, tensor infos listed out of data order, and a 3-D tensor whose ne[0]
 * varies fastest. Each expectation is worked out from the spec by hand.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufMeta } from './metadata';
import { openGguf } from './reader';
import { readWeight } from './tensor-data';
import { GgufType as T } from './types';

const dir = mkdtempSync(join(tmpdir(), 'gguf-values-'));
let n = 0;
const fileOf = (bytes: number[]) => {
  const path = join(dir, `v${n++}.gguf`);
  writeFileSync(path, Uint8Array.from(bytes));
  return path;
};
const le = (size: number, write: (b: Buffer) => void) => {
  const b = Buffer.alloc(size);
  write(b);
  return [...b];
};
const u32 = (v: number) => le(4, (b) => b.writeUInt32LE(v));
const u64 = (v: number | bigint) => le(8, (b) => b.writeBigUInt64LE(BigInt(v)));
const str = (s: string) => [...u64(Buffer.byteLength(s)), ...Buffer.from(s, 'utf8')];
const f32s = (...v: number[]) => v.flatMap((x) => le(4, (b) => b.writeFloatLE(x)));
const kv = (key: string, type: T, value: number[]) => [...str(key), ...u32(type), ...value];
const padTo = (bytes: number[], a: number) => [...bytes, ...new Array((a - (bytes.length % a)) % a).fill(0)];
const head = (version: number, tensors: number, kvs: number) => [0x47, 0x47, 0x55, 0x46, ...u32(version), ...u64(tensors), ...u64(kvs)];

describe('every metadata value type', () => {
  const pairs = [
    kv('u8', T.UINT8, [200]),
    kv('i8', T.INT8, [0xfb]), // -5
    kv('u16', T.UINT16, le(2, (b) => b.writeUInt16LE(65000))),
    kv('i16', T.INT16, le(2, (b) => b.writeInt16LE(-30000))),
    kv('u32', T.UINT32, u32(4_000_000_000)),
    kv('i32', T.INT32, le(4, (b) => b.writeInt32LE(-2_000_000_000))),
    kv('f32', T.FLOAT32, f32s(1e-5)),
    kv('bool', T.BOOL, [1]),
    kv('str', T.STRING, str('h\u00e9llo \u2581')),
    kv('u64', T.UINT64, u64(2n ** 53n + 1n)),
    kv('u64small', T.UINT64, u64(151936)),
    kv('i64', T.INT64, le(8, (b) => b.writeBigInt64LE(-(2n ** 40n)))),
    kv('f64', T.FLOAT64, le(8, (b) => b.writeDoubleLE(0.1))),
    kv('strs', T.ARRAY, [...u32(T.STRING), ...u64(3), ...str('a b'), ...str(''), ...str('<0x0A>')]),
    // [[1, 2], [3]]: an array of int32 arrays
    kv('nested', T.ARRAY, [...u32(T.ARRAY), ...u64(2), ...u32(T.INT32), ...u64(2), ...u32(1), ...u32(2), ...u32(T.INT32), ...u64(1), ...u32(3)]),
    kv('empty', T.ARRAY, [...u32(T.FLOAT32), ...u64(0)]),
  ];
  const path = fileOf(padTo([...head(3, 0, pairs.length), ...pairs.flat()], 32));
  const f = openGguf(path);
  afterAll(() => f.close());
  const v = (k: string) => f.metadata.get(k)!;

  it('decodes each scalar as the spec defines it', () => {
    expect([v('u8').value, v('i8').value, v('u16').value, v('i16').value, v('u32').value, v('i32').value]).toEqual([200, -5, 65000, -30000, 4_000_000_000, -2_000_000_000]);
    expect(v('f32')).toEqual({ type: T.FLOAT32, value: Math.fround(1e-5) });
    expect(v('bool')).toEqual({ type: T.BOOL, value: true });
    expect(v('str').value).toBe('h\u00e9llo \u2581');
    expect(v('u64')).toEqual({ type: T.UINT64, value: 2n ** 53n + 1n }); // beyond 2^53: kept exact
    expect(v('u64small').value).toBe(151936);
    expect(v('i64').value).toBe(-(2 ** 40));
    expect(v('f64').value).toBe(0.1);
  });

  it('decodes arrays of strings, nested arrays and empty arrays', () => {
    expect(v('strs').value).toEqual({ itemType: T.STRING, items: ['a b', '', '<0x0A>'] });
    expect(v('nested').value).toEqual({ itemType: T.ARRAY, items: [{ itemType: T.INT32, items: [1, 2] }, { itemType: T.INT32, items: [3] }] });
    expect(v('empty').value).toEqual({ itemType: T.FLOAT32, items: [] });
  });

  it('typed access: integers of any width, floats as written, 64-bit beyond 2^53 refused by name', () => {
    const m = new GgufMeta(f.metadata, 'values.gguf');
    expect([m.uint('u8'), m.uint('u16'), m.uint('u32'), m.uint('u64small')]).toEqual([200, 65000, 4_000_000_000, 151936]);
    expect(m.float('f32')).toBe(0.00001); // the float32 nearest 1e-5, printed as 1e-5
    expect(m.float('f64')).toBe(0.1);
    expect(m.strings('strs')).toEqual(['a b', '', '<0x0A>']);
    expect(() => m.uint('u64')).toThrow(/values.gguf: metadata "u64" is "9007199254740993" \(type UINT64\), expected a non-negative integer/);
    expect(() => m.uint('i8')).toThrow(/"i8" is -5 .* expected a non-negative integer/);
  });
});

describe('layout: version 2, alignment 64, tensors out of order, a 3-D tensor', () => {
  // tensor infos: "late" at data offset 64 is listed before "early" at 0; "cube" is F32 [ne0 2, ne1 3, ne2 2] at 128
  const infos = [
    ...str('late'), ...u32(1), ...u64(4), ...u32(0), ...u64(64),
    ...str('early'), ...u32(1), ...u64(2), ...u32(0), ...u64(0),
    ...str('cube'), ...u32(3), ...u64(2), ...u64(3), ...u64(2), ...u32(0), ...u64(128),
  ];
  const header = [...head(2, 3, 1), ...kv('general.alignment', T.UINT32, u32(64)), ...infos];
  const data = [...padTo(f32s(7, 8), 64), ...padTo(f32s(1, 2, 3, 4), 64), ...f32s(...Array.from({ length: 12 }, (_, i) => i))];
  const bytes = [...padTo(header, 64), ...data];
  const f = openGguf(fileOf(bytes));
  afterAll(() => f.close());

  it('puts the data section at the next multiple of 64 and each tensor at its offset from there', () => {
    expect(f.version).toBe(2);
    expect(f.alignment).toBe(64);
    expect(header.length % 64).not.toBe(0); // the padding matters
    expect(f.dataStart).toBe(Math.ceil(header.length / 64) * 64);
    expect(Array.from(readWeight(f, f.tensors.get('early')!).data)).toEqual([7, 8]);
    expect(Array.from(readWeight(f, f.tensors.get('late')!).data)).toEqual([1, 2, 3, 4]);
  });

  it('a 3-D tensor is row-major with ne[0] fastest: element (i2, i1, i0) at i0 + 2*i1 + 6*i2', () => {
    const w = readWeight(f, f.tensors.get('cube')!);
    expect(w.shape).toEqual([2, 3, 2]);
    expect(w.data[1 * 6 + 2 * 2 + 1]).toBe(11); // (i2 1, i1 2, i0 1)
    expect(w.data[0 * 6 + 1 * 2 + 0]).toBe(2); // (i2 0, i1 1, i0 0)
  });
});

describe('the fallback block types of K-quant files', () => {
  // Q4_1 [32] at 0 (d 0.5, m -1, every byte 0x21: nibbles 1 and 2), Q5_0 [32] at 32 (d 2, qh 0, every byte 0x00),
  // Q5_K [256] at 64 (d 1, dmin 0.5, sub-block 0: sc 2, m 3; every qh bit 0 set: weights 0-31 get +16)
  const infos = [
    ...str('q41'), ...u32(1), ...u64(32), ...u32(3), ...u64(0), ...str('q50'), ...u32(1), ...u64(32), ...u32(6), ...u64(32),
    ...str('q5k'), ...u32(1), ...u64(256), ...u32(13), ...u64(64),
  ];
  const header = padTo([...head(3, 3, 0), ...infos], 32);
  const q5k = [0x00, 0x3c, 0x00, 0x38, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, ...new Array(32).fill(1), ...new Array(128).fill(0)];
  const data = [...padTo([0x00, 0x38, 0x00, 0xbc, ...new Array(16).fill(0x21)], 32), ...padTo([0x00, 0x40, 0, 0, 0, 0, ...new Array(16).fill(0)], 32), ...q5k];
  const f = openGguf(fileOf([...header, ...data]));
  afterAll(() => f.close());

  it('Q4_1, Q5_0 and Q5_K tensors read as the f32 values their blocks define', () => {
    expect(Array.from(readWeight(f, f.tensors.get('q41')!).data)).toEqual([...new Array(16).fill(1 * 0.5 - 1), ...new Array(16).fill(2 * 0.5 - 1)]);
    expect(Array.from(readWeight(f, f.tensors.get('q50')!).data)).toEqual(new Array(32).fill(-32));
    // Q5_K: weights 0-31 = 1 * 2 * (0 + 16) - 0.5 * 3 = 30.5; the other sub-blocks have scale and min 0
    expect(Array.from(readWeight(f, f.tensors.get('q5k')!).data)).toEqual([...new Array(32).fill(30.5), ...new Array(224).fill(0)]);
  });
});
