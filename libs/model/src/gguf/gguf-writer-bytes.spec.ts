/*
 * The writer's bytes against ggml docs/gguf.md, compared with a file laid out by hand below:
 * header (magic, version 3, tensor and metadata counts), general.alignment (uint32 32) first,
 * then the caller's pairs, tensor infos (name, n_dims, dims with ne0 first, ggml type, offset
 * from the data section), zero padding to 32 before the data, and every tensor's data at a
 * multiple of 32 with zero padding after it.
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gv } from './metadata';
import { GGML_TYPES, GgufType } from './types';
import { writeGguf } from './writer';

const le = (size: number, write: (b: Buffer) => void) => {
  const b = Buffer.alloc(size);
  write(b);
  return [...b];
};
const u32 = (v: number) => le(4, (b) => b.writeUInt32LE(v));
const u64 = (v: number) => le(8, (b) => b.writeBigUInt64LE(BigInt(v)));
const str = (s: string) => [...u64(Buffer.byteLength(s)), ...Buffer.from(s, 'utf8')];
const padTo = (bytes: number[], a: number) => [...bytes, ...new Array((a - (bytes.length % a)) % a).fill(0)];

it('writes exactly the bytes the specification lays out', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gguf-bytes-')), 'w.gguf');
  const norm = Uint8Array.from(le(8, (b) => { b.writeFloatLE(1.5, 0); b.writeFloatLE(-2, 4); }));
  const q = Uint8Array.from({ length: 68 }, (_, i) => i); // two Q8_0 blocks (a [32, 2] matrix)
  writeGguf(path, [['general.architecture', gv.str('llama')], ['tokenizer.ggml.add_bos_token', gv.bool(true)]], [
    { name: 'output_norm.weight', dims: [2], type: GGML_TYPES.get(0)!, bytes: () => norm },
    { name: 'output.weight', dims: [32, 2], type: GGML_TYPES.get(8)!, bytes: () => q },
  ]);
  const header = [
    0x47, 0x47, 0x55, 0x46, ...u32(3), ...u64(2), ...u64(3),
    ...str('general.alignment'), ...u32(GgufType.UINT32), ...u32(32),
    ...str('general.architecture'), ...u32(GgufType.STRING), ...str('llama'),
    ...str('tokenizer.ggml.add_bos_token'), ...u32(GgufType.BOOL), 1,
    ...str('output_norm.weight'), ...u32(1), ...u64(2), ...u32(0), ...u64(0),
    ...str('output.weight'), ...u32(2), ...u64(32), ...u64(2), ...u32(8), ...u64(32),
  ];
  const want = [...padTo(header, 32), ...padTo([...norm], 32), ...padTo([...q], 32)];
  expect([...readFileSync(path)]).toEqual(want);
});

it('writes a header far past its first 64 KiB buffer (a 49152-token vocabulary) byte for byte', () => {
  // The header sink grows as it is written; every value that lands across a growth must be
  // written into the new buffer (a real vocabulary's tokens array alone is several hundred KiB).
  const path = join(mkdtempSync(join(tmpdir(), 'gguf-big-header-')), 'w.gguf');
  const tokens = Array.from({ length: 49152 }, (_, i) => `tok${i}`);
  const scores = Array.from({ length: 49152 }, (_, i) => -i / 8);
  writeGguf(path, [['tokenizer.ggml.tokens', gv.strings(tokens)], ['tokenizer.ggml.scores', gv.f32s(scores)], ['general.name', gv.str('after the arrays')]], []);
  const f32 = (v: number) => le(4, (b) => b.writeFloatLE(v));
  const header = [
    0x47, 0x47, 0x55, 0x46, ...u32(3), ...u64(0), ...u64(4),
    ...str('general.alignment'), ...u32(GgufType.UINT32), ...u32(32),
    ...str('tokenizer.ggml.tokens'), ...u32(GgufType.ARRAY), ...u32(GgufType.STRING), ...u64(tokens.length), ...tokens.flatMap(str),
    ...str('tokenizer.ggml.scores'), ...u32(GgufType.ARRAY), ...u32(GgufType.FLOAT32), ...u64(scores.length), ...scores.flatMap(f32),
    ...str('general.name'), ...u32(GgufType.STRING), ...str('after the arrays'),
  ];
  expect(header.length).toBeGreaterThan(4 * 65536);
  const got = readFileSync(path);
  expect(got.length).toBe(padTo(header, 32).length);
  expect(Buffer.from(padTo(header, 32)).equals(got)).toBe(true);
});
