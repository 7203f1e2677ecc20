/**
 * F16/BF16 conversion and safetensors tests: known bit patterns, exhaustive F16 round trip,
 * a hand-built file, writer round trips, and header validation errors.
 */
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { f32ToF16Bits, f16BitsToF32, f32ToBf16Bits, bf16BitsToF32, roundTripDtype } from './dtype';
import { readSafetensors, writeSafetensors, encodeSafetensors, readSafetensorsHeader } from './safetensors';

const tmp = () => mkdtempSync(join(tmpdir(), 'st-'));

describe('float16 / bfloat16', () => {
  it('encodes known values', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(65504)).toBe(0x7bff); // largest finite half
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds to inf
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // halfway to 0: ties to even
    expect(f32ToF16Bits(1 / 3)).toBe(0x3555);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway, even stays
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, odd rounds up
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(bf16BitsToF32(0xc0a0)).toBe(-5);
  });

  it('every finite half survives f16 -> f32 -> f16 exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaN payloads
      if (f32ToF16Bits(f16BitsToF32(h)) !== h) throw new Error(`half 0x${h.toString(16)} did not round-trip`);
    }
  });

  it('round to nearest: the error is at most half an ulp', () => {
    const x = Float32Array.from([0.1, -3.3, 1234.567, 1e-6]);
    const h = roundTripDtype(x, 'F16'), b = roundTripDtype(x, 'BF16');
    for (let i = 0; i < x.length; i++) {
      const e = Math.floor(Math.log2(Math.abs(x[i])));
      expect(Math.abs(h[i] - x[i])).toBeLessThanOrEqual(2 ** (Math.max(e, -14) - 10) / 2);
      expect(Math.abs(b[i] - x[i])).toBeLessThanOrEqual(2 ** (e - 7) / 2);
    }
  });
});

describe('safetensors', () => {
  it('reads a hand-built file', () => {
    const header = JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F16', shape: [1, 1], data_offsets: [8, 10] } });
    const buf = Buffer.alloc(8 + header.length + 10);
    buf.writeBigUInt64LE(BigInt(header.length), 0);
    buf.write(header, 8);
    buf.writeFloatLE(1.5, 8 + header.length);
    buf.writeFloatLE(-2, 12 + header.length);
    buf.writeUInt16LE(0xc000, 16 + header.length);
    const path = join(tmp(), 'x.safetensors');
    writeFileSync(path, buf);
    const t = readSafetensors(path);
    expect(Array.from(t.a.data)).toEqual([1.5, -2]);
    expect(t.b).toEqual({ dtype: 'F16', shape: [1, 1], data: Float32Array.from([-2]) });
  });

  it('reads integer and boolean buffers as f32 values', () => {
    const header = JSON.stringify({ m: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] }, i: { dtype: 'I64', shape: [1], data_offsets: [2, 10] } });
    const buf = Buffer.alloc(8 + header.length + 10);
    buf.writeBigUInt64LE(BigInt(header.length), 0);
    buf.write(header, 8);
    buf.writeUInt8(1, 8 + header.length);
    buf.writeBigInt64LE(-7n, 10 + header.length);
    const path = join(tmp(), 'int.safetensors');
    writeFileSync(path, buf);
    const t = readSafetensors(path);
    expect([Array.from(t.m.data), Array.from(t.i.data), t.i.dtype]).toEqual([[1, 0], [-7], 'I64']);
  });

  it.each(['F32', 'F16', 'BF16'] as const)('writes and reads back %s with an aligned header', (dtype) => {
    const data = Float32Array.from([0.1, -0.25, 3, 1e-3, 70000 * (dtype === 'F16' ? 0 : 1)]);
    const path = join(tmp(), 'm.safetensors');
    writeSafetensors(path, { w: { dtype, shape: [5], data }, e: { dtype, shape: [0], data: new Float32Array(0) } });
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    expect(JSON.parse(bytes.subarray(8, 8 + n).toString()).__metadata__).toEqual({ format: 'pt' });
    const back = readSafetensors(path);
    expect(back.w.dtype).toBe(dtype);
    expect(Array.from(back.w.data)).toEqual(Array.from(roundTripDtype(data, dtype)));
    expect(readSafetensorsHeader(path).get('w')).toEqual({ dtype, shape: [5] });
  });

  it('rejects a truncated file, naming the file and tensor', () => {
    const path = join(tmp(), 't.safetensors');
    const bytes = encodeSafetensors({ big: { dtype: 'F32', shape: [4, 4], data: new Float32Array(16) } });
    writeFileSync(path, bytes.subarray(0, bytes.length - 4));
    expect(() => readSafetensors(path)).toThrow(new RegExp(`${path}: truncated: tensor "big" ends at data byte 64 but the file holds only 60 data bytes`));
    writeFileSync(path, bytes.subarray(0, 20));
    expect(() => readSafetensors(path)).toThrow(/header length \d+ exceeds the file size 20/);
    writeFileSync(path, bytes.subarray(0, 3));
    expect(() => readSafetensors(path)).toThrow(/truncated safetensors file \(3 bytes/);
  });

  it('rejects mismatched offsets, unknown dtypes and overlaps', () => {
    const write = (header: object, dataLen: number): string => {
      const h = JSON.stringify(header);
      const buf = Buffer.alloc(8 + h.length + dataLen);
      buf.writeBigUInt64LE(BigInt(h.length), 0);
      buf.write(h, 8);
      const p = join(tmp(), 'bad.safetensors');
      writeFileSync(p, buf);
      return p;
    };
    expect(() => readSafetensors(write({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8))).toThrow(/"a" spans 8 bytes but F32 \[3\] needs 12/);
    expect(() => readSafetensors(write({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1))).toThrow(/"a" has dtype "F8_E4M3" \(expected one of F32, F16, BF16, F64, BOOL/);
    expect(() => readSafetensors(write({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8))).toThrow(/"a" and "b" overlap/);
    expect(() => readSafetensors(join(tmp(), 'none.safetensors'))).toThrow(/cannot read safetensors file .*none.safetensors: ENOENT/);
  });

  it('merges shards and rejects a tensor present in two', () => {
    const d = tmp();
    writeSafetensors(join(d, 'a.safetensors'), { x: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) } });
    writeSafetensors(join(d, 'b.safetensors'), { y: { dtype: 'F32', shape: [1], data: Float32Array.from([2]) } });
    const t = readSafetensors([join(d, 'a.safetensors'), join(d, 'b.safetensors')]);
    expect([t.x.data[0], t.y.data[0]]).toEqual([1, 2]);
    expect(() => readSafetensors([join(d, 'a.safetensors'), join(d, 'a.safetensors')])).toThrow(/"x" appears in both/);
  });
});
