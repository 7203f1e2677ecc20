/*
 * The GGUF reader on a file whose every byte is written out by hand below from the
 * specification (ggml docs/gguf.md), not by this project's writer: header, two metadata pairs,
 * five tensors (F32, F16, BF16, Q8_0, Q4_0) at 32-byte aligned offsets, and the values the spec
 * defines for them, worked out by hand. Then hostile variants: every truncation, absurd counts
 * and lengths, bad offsets, overlaps, unknown types, and random byte corruption; each must be one
 * GgufError, never another exception and never an allocation of what the header claims.
 */
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGguf } from './reader';
import { readWeight } from './tensor-data';
import { GgufError, GgufType } from './types';

const dir = mkdtempSync(join(tmpdir(), 'gguf-'));
let n = 0;
function fileOf(bytes: number[] | Uint8Array): string {
  const path = join(dir, `f${n++}.gguf`);
  writeFileSync(path, Uint8Array.from(bytes));
  return path;
}

// little-endian helpers for writing the fixture by hand
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64 = (v: number) => [...u32(v % 2 ** 32), ...u32(Math.floor(v / 2 ** 32))];
const str = (s: string) => [...u64(s.length), ...Buffer.from(s, 'latin1')];
const pad = (bytes: number[], to: number) => [...bytes, ...new Array(to - bytes.length).fill(0)];

function fixture(): number[] {
  const header = [
    0x47, 0x47, 0x55, 0x46, // "GGUF"
    ...u32(3), // version
    ...u64(5), // tensor_count
    ...u64(2), // metadata_kv_count
    ...str('general.architecture'), ...u32(GgufType.STRING), ...str('llama'),
    ...str('general.alignment'), ...u32(GgufType.UINT32), ...u32(32),
    // tensor infos: name, n_dims, dims (ne0 first), ggml type, offset relative to the data section
    ...str('a'), ...u32(1), ...u64(2), ...u32(0), ...u64(0), //      F32 [2]
    ...str('h'), ...u32(1), ...u64(3), ...u32(1), ...u64(32), //     F16 [3]
    ...str('b'), ...u32(1), ...u64(2), ...u32(30), ...u64(64), //    BF16 [2]
    ...str('q'), ...u32(2), ...u64(32), ...u64(1), ...u32(8), ...u64(96), // Q8_0 [32, 1]: one row
    ...str('p'), ...u32(1), ...u64(32), ...u32(2), ...u64(160), //   Q4_0 [32]
  ];
  const data = [
    ...pad([0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0], 32), //  1.5f, -2.0f
    ...pad([0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35], 32), //              half 1, -2, 0x3555
    ...pad([0xc0, 0x3f, 0x80, 0xbf], 32), //                          bf16 1.5 (0x3FC0), -1 (0xBF80)
    ...pad([0x00, 0x38, 0x01, 0xfe, 0x7f, 0x80, ...new Array(28).fill(0)], 64), // Q8_0: d = half 0.5; q = 1, -2, 127, -128, 0...
    0x00, 0x40, 0x1f, 0x80, ...new Array(14).fill(0x88), //           Q4_0: d = half 2; byte0 = 0x1F, byte1 = 0x80, rest 0x88
  ];
  return [...pad(header, Math.ceil(header.length / 32) * 32), ...data];
}

describe('a GGUF file written by hand', () => {
  const bytes = fixture();
  const file = openGguf(fileOf(bytes));
  afterAll(() => file.close());

  it('parses the header, metadata and tensor infos', () => {
    expect(file.version).toBe(3);
    expect(file.metadata.get('general.architecture')).toEqual({ type: GgufType.STRING, value: 'llama' });
    expect(file.alignment).toBe(32);
    expect([...file.tensors.keys()]).toEqual(['a', 'h', 'b', 'q', 'p']);
    expect(file.tensors.get('q')).toMatchObject({ dims: [32, 1], nbytes: 34, offset: file.dataStart + 96 });
    expect(file.dataStart % 32).toBe(0);
  });

  it('decodes each type to the values the specification defines', () => {
    const w = (name: string) => readWeight(file, file.tensors.get(name)!);
    expect(Array.from(w('a').data)).toEqual([1.5, -2]);
    expect(Array.from(w('h').data)).toEqual([1, -2, 0.333251953125]); // 0x3555 = (1 + 341/1024) * 2^-2
    expect(Array.from(w('b').data)).toEqual([1.5, -1]);
    const q = w('q');
    expect(q.shape).toEqual([1, 32]);
    expect(q.quant?.format).toBe('q8_0');
    expect(Array.from(q.data.subarray(0, 5))).toEqual([0.5, -1, 63.5, -64, 0]); // q * d
    const p = w('p');
    expect(p.quant?.format).toBe('q4_0');
    const want = new Array(32).fill(0); // (q - 8) * d with d = 2; nibble 8 -> 0
    Object.assign(want, { 0: 14, 16: -14, 1: -16 }); // byte0 0x1F: lo 15 -> 14, hi 1 -> -14; byte1 0x80: lo 0 -> -16, hi 8 -> 0
    expect(Array.from(p.data)).toEqual(want);
  });
});

describe('hostile and damaged files are one GgufError each', () => {
  const good = fixture();
  const expectError = (bytes: number[] | Uint8Array, message?: RegExp) => {
    let err: unknown;
    try {
      openGguf(fileOf(bytes)).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GgufError);
    if (message) expect((err as Error).message).toMatch(message);
  };

  it('every truncation of the file', () => {
    for (let len = 0; len < good.length; len += len < 300 ? 1 : 7) expectError(good.slice(0, len));
    expectError(good.slice(0, 200), /truncated: .* needs \d+ bytes at offset \d+ but the file has \d+ left/);
    expectError(good.slice(0, good.length - 1), /truncated: tensor "p" \(Q4_0 \[32\], 18 bytes\) ends at \d+ but the file has \d+ bytes/);
  });

  it('absurd counts and lengths, without allocating them', () => {
    const head = (tensors: number, kvs: number, rest: number[] = []) => [0x47, 0x47, 0x55, 0x46, ...u32(3), ...u64(tensors), ...u64(kvs), ...rest];
    expectError(head(2 ** 40, 0), /claims 1099511627776 tensors/);
    expectError(head(0, 1, [...str('k'), ...u32(GgufType.ARRAY), ...u32(GgufType.UINT64), ...u64(2 ** 50)]), /"k" claims 1125899906842624 items but only 0 bytes remain/);
    expectError(head(0, 1, [...str('k'), ...u32(GgufType.STRING), ...u64(2 ** 31), ...new Array(20).fill(65)]), /truncated: metadata "k" needs 2147483648 bytes at offset 45 but the file has 20 left/);
    expectError(head(0, 1, [...u64(2 ** 17), ...new Array(2 ** 17).fill(65)]), /metadata key 0 is 131072 bytes long \(at most 65535 allowed\)/);
    expectError(head(0, 1, [...str('k'), ...u32(GgufType.STRING), ...u32(0xffffffff), ...u32(0xffffffff)]), /larger than any file/);
    expectError(head(1, 0, [...str('t'), ...u32(2), ...u64(2 ** 20), ...u64(2 ** 20), ...u32(0), ...u64(0)]), /tensor "t" \(F32 \[1048576, 1048576\].*ends at/);
    expectError(head(1, 0, [...str('t'), ...u32(4), ...u64(2 ** 40), ...u64(2 ** 40), ...u64(2), ...u64(2), ...u32(0), ...u64(0)]), /more elements than any file holds/);
  });

  it('bad magic, version, types, alignment, offsets and overlaps', () => {
    const patch = (at: number, bytes: number[]) => {
      const b = [...good];
      b.splice(at, bytes.length, ...bytes);
      return b;
    };
    expectError(patch(0, [0x47, 0x47, 0x4d, 0x4c]), /not a GGUF file/);
    expectError(patch(4, u32(1)), /GGUF version 1 is not supported/);
    const typeOf = (name: string) => good.findIndex((_, i) => good[i] === 1 && good[i + 8] === name.charCodeAt(0) && good[i + 9] === 1 && good[i + 12] === 0) ;
    const at = (name: string) => typeOf(name) + 9 + 4 + 8 * (name === 'q' ? 2 : 1); // the type field after name, n_dims, dims
    expectError(patch(at('a'), u32(99)), /tensor "a" has unknown ggml type 99/);
    expectError(patch(at('a') + 4, u64(8)), /tensor "a" starts at data offset 8, not a multiple of the alignment 32/);
    expectError(patch(at('h') + 4, u64(0)), /tensors "a" and "h" overlap|tensors "h" and "a" overlap/);
    expectError(patch(at('p') - 8, u64(31)), /tensor "p" is Q4_0 but its row of 31 is not a multiple of the 32-weight block/);
    const alignAt = good.findIndex((_, i) => Buffer.from(good.slice(i, i + 17)).toString('latin1') === 'general.alignment') + 17 + 4;
    expectError(patch(alignAt, u32(12)), /general.alignment must be a uint32 power of two up to 1048576, got 12/);
    expectError(patch(alignAt, u32(24)), /general.alignment must be a uint32 power of two up to 1048576, got 24/); // llama.cpp refuses it too
    expectError(patch(alignAt, u32(1 << 21)), /got 2097152/);
  });

  it('random corruption never escapes as another exception', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = Uint8Array.from(good);
        for (const [i, v] of edits) b[i] = v;
        try {
          const f = openGguf(fileOf(b));
          for (const t of f.tensors.values()) readWeight(f, t);
          f.close();
        } catch (e) {
          expect(e).toBeInstanceOf(GgufError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
