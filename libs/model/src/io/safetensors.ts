/**
 * Reader and writer of the safetensors format (huggingface/safetensors, "Format" section):
 *   [u64 little-endian N][N bytes of JSON header][data]
 *   header: { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, "__metadata__": {..} }
 *   offsets are relative to the start of the data section; tensors are row-major little-endian.
 * Every tensor is returned as float32 whatever its stored dtype (F32, F16, BF16, F64, and integer
 * or BOOL buffers such as GPT-2's attention mask), with the stored dtype recorded. The header is validated against the file size: a truncated file, an
 * offset range that does not match dtype x shape, or overlapping tensors are errors naming the file
 * and tensor. U8 tensors can instead come back as their raw bytes (`rawU8`), which is how block-
 * quantized weights are stored (../quant, config.json quantization_config), and can be written.
 * Deliberately not: memory mapping or lazy loading (whole files are read), writing other integer dtypes, F8 formats.
 */
import { closeSync, openSync, readFileSync, readSync, writeFileSync, fstatSync } from 'node:fs';
import { endianness } from 'node:os';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './dtype';

export type StoredDType = 'F32' | 'F16' | 'BF16';
/** Integer and boolean tensors (e.g. GPT-2's stored attn.bias mask) are read as f32 values too. */
export type ReadableDType = StoredDType | 'F64' | 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'I32' | 'U32' | 'I64' | 'U64';

/** One tensor: f32 data (row-major), its shape, and the dtype it is (to be) stored in. */
export interface SafeTensor {
  dtype: ReadableDType;
  shape: number[];
  data: Float32Array;
  /** U8 tensors read with `rawU8`: the bytes themselves (and `data` empty). */
  bytes?: Uint8Array;
}

/** A tensor to write: f32 values in a float dtype, or raw bytes as U8. */
export type WritableTensor = { dtype: StoredDType; shape: number[]; data: Float32Array } | { dtype: 'U8'; shape: number[]; bytes: Uint8Array };

export type SafeTensors = Record<string, SafeTensor>;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<ReadableDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, I32: 4, U32: 4, I64: 8, U64: 8 };
/** safetensors data is little-endian; on such hosts F32 bytes are copied as they are */
const LITTLE_ENDIAN = endianness() === 'LE';

/** Thrown for malformed or truncated files; the message names the file (and tensor). */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

function elementCount(shape: number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * Parses and validates the header of a safetensors file. `bytes` holds at least the first 8 + N bytes;
 * `fileSize` is the whole file's size (default bytes.length). Returns entries and the data start.
 */
export function parseSafetensorsHeader(file: string, bytes: Uint8Array, fileSize = bytes.length): { entries: Map<string, HeaderEntry>; dataStart: number; metadata: Record<string, string> } {
  if (fileSize < 8) throw new SafetensorsError(`${file}: truncated safetensors file (${fileSize} bytes; expected at least 8 for the header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > fileSize - 8 || n > bytes.length - 8) {
    throw new SafetensorsError(`${file}: header length ${n} exceeds the file size ${fileSize} (truncated or not a safetensors file)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
  } catch (e) {
    throw new SafetensorsError(`${file}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SafetensorsError(`${file}: safetensors header must be a JSON object`);
  const dataStart = 8 + n;
  const dataLen = fileSize - dataStart;
  const entries = new Map<string, HeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    entries.set(name, validateEntry(file, name, raw, dataLen));
  }
  checkOverlaps(file, entries);
  return { entries, dataStart, metadata };
}

function validateEntry(file: string, name: string, raw: unknown, dataLen: number): HeaderEntry {
  const e = raw as Partial<HeaderEntry> | null;
  if (!e || typeof e !== 'object') throw new SafetensorsError(`${file}: tensor "${name}" has no header entry object`);
  if (typeof e.dtype !== 'string' || !(e.dtype in BYTES)) {
    throw new SafetensorsError(`${file}: tensor "${name}" has dtype ${JSON.stringify(e.dtype)} (expected one of ${Object.keys(BYTES).join(', ')})`);
  }
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new SafetensorsError(`${file}: tensor "${name}" has shape ${JSON.stringify(e.shape)} (expected an array of non-negative integers)`);
  }
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) {
    throw new SafetensorsError(`${file}: tensor "${name}" has data_offsets ${JSON.stringify(off)} (expected [begin, end] with begin <= end)`);
  }
  const want = elementCount(e.shape) * BYTES[e.dtype as ReadableDType];
  if (off[1] - off[0] !== want) {
    throw new SafetensorsError(`${file}: tensor "${name}" spans ${off[1] - off[0]} bytes but ${e.dtype} [${e.shape.join(', ')}] needs ${want}`);
  }
  if (off[1] > dataLen) {
    throw new SafetensorsError(`${file}: truncated: tensor "${name}" ends at data byte ${off[1]} but the file holds only ${dataLen} data bytes`);
  }
  return e as HeaderEntry;
}

function checkOverlaps(file: string, entries: Map<string, HeaderEntry>): void {
  const spans = [...entries].filter(([, e]) => e.data_offsets[1] > e.data_offsets[0]).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][1].data_offsets[0] < spans[i - 1][1].data_offsets[1]) {
      throw new SafetensorsError(`${file}: tensors "${spans[i - 1][0]}" and "${spans[i][0]}" overlap in the data section`);
    }
  }
}

function decode(bytes: Uint8Array, start: number, e: HeaderEntry): Float32Array {
  const n = elementCount(e.shape);
  if (e.dtype === 'F32' && LITTLE_ENDIAN) {
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + 4 * n)); // an aligned copy
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, n * BYTES[e.dtype as ReadableDType]);
  const out = new Float32Array(n);
  switch (e.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16BitsToF32(view.getUint16(2 * i, true));
      break;
    case 'BF16':
      for (let i = 0; i < n; i++) out[i] = bf16BitsToF32(view.getUint16(2 * i, true));
      break;
    default:
      decodeInteger(view, e.dtype as ReadableDType, out);
  }
  return out;
}

function decodeInteger(view: DataView, dtype: ReadableDType, out: Float32Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'BOOL':
      case 'U8': out[i] = view.getUint8(i); break;
      case 'I8': out[i] = view.getInt8(i); break;
      case 'I16': out[i] = view.getInt16(2 * i, true); break;
      case 'U16': out[i] = view.getUint16(2 * i, true); break;
      case 'I32': out[i] = view.getInt32(4 * i, true); break;
      case 'U32': out[i] = view.getUint32(4 * i, true); break;
      case 'I64': out[i] = Number(view.getBigInt64(8 * i, true)); break;
      default: out[i] = Number(view.getBigUint64(8 * i, true));
    }
  }
}

/**
 * Reads one file or several shards into one name -> tensor record (f32 data; with `rawU8`, U8
 * tensors as bytes). Duplicate names are an error.
 */
export function readSafetensors(pathOrPaths: string | string[], opts: { rawU8?: boolean } = {}): SafeTensors {
  const paths = Array.isArray(pathOrPaths) ? pathOrPaths : [pathOrPaths];
  const out: SafeTensors = {};
  const from = new Map<string, string>();
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new SafetensorsError(`cannot read safetensors file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const { entries, dataStart } = parseSafetensorsHeader(path, bytes);
    for (const [name, e] of entries) {
      if (from.has(name)) throw new SafetensorsError(`tensor "${name}" appears in both ${from.get(name)} and ${path}`);
      from.set(name, path);
      const start = dataStart + e.data_offsets[0];
      if (opts.rawU8 && e.dtype === 'U8') {
        out[name] = { dtype: 'U8', shape: [...e.shape], data: new Float32Array(0), bytes: bytes.slice(start, dataStart + e.data_offsets[1]) };
        continue;
      }
      out[name] = { dtype: e.dtype as ReadableDType, shape: [...e.shape], data: decode(bytes, start, e) };
    }
  }
  return out;
}

/** Reads only the header of a file (names, dtypes, shapes), without the data. */
export function readSafetensorsHeader(path: string): Map<string, { dtype: string; shape: number[] }> {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 8));
    readSync(fd, head, 0, head.length, 0);
    const n = head.length === 8 ? Number(head.readBigUInt64LE(0)) : 0;
    const len = Math.min(size, 8 + n);
    const bytes = Buffer.alloc(len);
    readSync(fd, bytes, 0, len, 0);
    const { entries } = parseSafetensorsHeader(path, bytes, size);
    return new Map([...entries].map(([k, e]) => [k, { dtype: e.dtype, shape: e.shape }]));
  } finally {
    closeSync(fd);
  }
}

/** Serialises tensors (sorted by name) with a space-padded, 8-byte aligned header and `format: pt` metadata. */
export function encodeSafetensors(tensors: Record<string, WritableTensor>, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...metadata } };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16' && t.dtype !== 'U8') throw new SafetensorsError(`tensor "${name}": cannot write dtype ${t.dtype as string} (expected F32, F16, BF16 or U8)`);
    const n = elementCount(t.shape);
    const have = t.dtype === 'U8' ? t.bytes.length : t.data.length;
    if (have !== n) throw new SafetensorsError(`tensor "${name}" has ${have} values but shape [${t.shape.join(', ')}] needs ${n}`);
    const bytes = n * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hlen = Buffer.byteLength(json);
  const buf = Buffer.alloc(8 + hlen + offset);
  buf.writeBigUInt64LE(BigInt(hlen), 0);
  buf.write(json, 8, 'utf8');
  let p = 8 + hlen;
  for (const name of names) {
    const t = tensors[name];
    if (t.dtype === 'U8') {
      buf.set(t.bytes, p);
      p += t.bytes.length;
      continue;
    }
    if (t.dtype === 'F32' && LITTLE_ENDIAN) {
      p += Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(buf, p); // bytes as they are
      continue;
    }
    for (let i = 0; i < t.data.length; i++) {
      if (t.dtype === 'F32') p = buf.writeFloatLE(t.data[i], p);
      else p = buf.writeUInt16LE(t.dtype === 'F16' ? f32ToF16Bits(t.data[i]) : f32ToBf16Bits(t.data[i]), p);
    }
  }
  return buf;
}

/** Writes tensors to `path` in safetensors format. */
export function writeSafetensors(path: string, tensors: Record<string, WritableTensor>, metadata?: Record<string, string>): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}
