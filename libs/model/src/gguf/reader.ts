/*
 * Reads a GGUF file's header (metadata and tensor infos) with positioned reads through a small
 * window, and a tensor's bytes on demand, so a file of any size costs only what is asked of it.
 * Every count, length, dimension, type and offset the file claims is checked against the bytes
 * that remain before anything is allocated for it: a truncated or hostile file is one GgufError
 * naming the file and the field, never a crash, a hang or an allocation of what the header says.
 * general.alignment may be any power of two up to 1 MiB, as gguf.cpp accepts (not only multiples of 8).
 * Follows ggml docs/gguf.md (versions 2 and 3, little-endian).
 * Not here: what the keys mean (./llama-metadata.ts) or decoding tensor data (./tensor-data.ts).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DEFAULT_ALIGNMENT, GGML_TYPES, GGUF_MAGIC, GGUF_SCALAR_BYTES, GgufError, GgufType, type GgufArray, type GgufScalar, type GgufTensorInfo, type GgufValue } from './types';

const WINDOW = 1 << 20;
const MAX_KEY_BYTES = 65535;
const MAX_NAME_BYTES = 64;
const MAX_DIMS = 4;
const MAX_ARRAY_DEPTH = 4;
const MAX_ALIGNMENT = 1 << 20;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A bounds-checked little-endian reader over the file through a sliding window. */
class Cursor {
  pos = 0;
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(private readonly fd: number, readonly size: number, private readonly path: string) {}

  fail(what: string): never {
    throw new GgufError(`${this.path}: ${what}`);
  }

  get remaining(): number {
    return this.size - this.pos;
  }

  /** Ensures bytes [pos, pos + n) are in the window; returns their offset in it. */
  private take(n: number, what: string): number {
    if (n > this.remaining) this.fail(`truncated: ${what} needs ${n} bytes at offset ${this.pos} but the file has ${this.remaining} left`);
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      const len = Math.min(Math.max(n, WINDOW), this.remaining);
      this.buf = Buffer.alloc(len);
      readExact(this.fd, this.buf, this.pos, this.path);
      this.bufStart = this.pos;
    }
    const at = this.pos - this.bufStart;
    this.pos += n;
    return at;
  }

  // NOTE: take() may move the window (a new buffer): call it before reading this.buf.
  u32(what: string): number {
    const at = this.take(4, what);
    return this.buf.readUInt32LE(at);
  }

  /** A u64 that must fit a JS number (counts, lengths, dims, offsets). */
  u64(what: string): number {
    const at = this.take(8, what);
    const v = this.buf.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${v}, larger than any file`);
    return Number(v);
  }

  string(what: string, maxBytes = Infinity): string {
    const n = this.u64(`length of ${what}`);
    if (n > maxBytes) this.fail(`${what} is ${n} bytes long (at most ${maxBytes} allowed)`);
    const at = this.take(n, what);
    try {
      return utf8.decode(this.buf.subarray(at, at + n));
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }

  scalar(type: GgufType, what: string): GgufScalar {
    const at = this.take(GGUF_SCALAR_BYTES[type] as number, what);
    const b = this.buf;
    switch (type) {
      case GgufType.UINT8: return b.readUInt8(at);
      case GgufType.INT8: return b.readInt8(at);
      case GgufType.UINT16: return b.readUInt16LE(at);
      case GgufType.INT16: return b.readInt16LE(at);
      case GgufType.UINT32: return b.readUInt32LE(at);
      case GgufType.INT32: return b.readInt32LE(at);
      case GgufType.FLOAT32: return b.readFloatLE(at);
      case GgufType.FLOAT64: return b.readDoubleLE(at);
      case GgufType.BOOL: {
        const v = b.readUInt8(at);
        if (v > 1) this.fail(`${what} is a bool holding ${v} (expected 0 or 1)`);
        return v === 1;
      }
      case GgufType.UINT64: return safe(b.readBigUInt64LE(at));
      default: return safe(b.readBigInt64LE(at));
    }
  }
}

const safe = (v: bigint): number | bigint => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v);

function readExact(fd: number, into: Buffer, position: number, path: string): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new GgufError(`${path}: the file ended while reading ${into.length} bytes at offset ${position}`);
    done += n;
  }
}

/** The least bytes a value of `type` occupies (bounds a claimed array count before reading it). */
function minBytes(type: GgufType): number {
  if (type === GgufType.STRING) return 8;
  if (type === GgufType.ARRAY) return 12;
  return GGUF_SCALAR_BYTES[type] ?? 1;
}

function readValue(c: Cursor, type: number, what: string, depth = 0): GgufScalar | GgufArray {
  if (type === GgufType.STRING) return c.string(what);
  if (type === GgufType.ARRAY) {
    if (depth >= MAX_ARRAY_DEPTH) c.fail(`${what}: arrays nested more than ${MAX_ARRAY_DEPTH} deep`);
    const itemType = c.u32(`item type of ${what}`);
    if (!(itemType in GgufType)) c.fail(`${what}: unknown array item type ${itemType}`);
    const n = c.u64(`length of ${what}`);
    if (n * minBytes(itemType) > c.remaining) c.fail(`truncated: ${what} claims ${n} items but only ${c.remaining} bytes remain`);
    const items: Array<GgufScalar | GgufArray> = [];
    for (let i = 0; i < n; i++) items.push(readValue(c, itemType, `${what}[${i}]`, depth + 1));
    return { itemType, items };
  }
  if (!(type in GGUF_SCALAR_BYTES)) c.fail(`${what}: unknown value type ${type}`);
  return c.scalar(type, what);
}

/** A parsed GGUF file; `readTensor` reads one tensor's bytes. Close it when done. */
export interface GgufFile {
  path: string;
  version: number;
  size: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensorInfo>;
  alignment: number;
  /** Absolute offset of the tensor data section. */
  dataStart: number;
  /** Exactly the tensor's bytes, read with positioned reads (into `into` when given). */
  readTensor(t: GgufTensorInfo, into?: Uint8Array): Uint8Array;
  close(): void;
}

function readMetadata(c: Cursor, count: number): Map<string, GgufValue> {
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < count; i++) {
    const key = c.string(`metadata key ${i}`, MAX_KEY_BYTES);
    if (metadata.has(key)) c.fail(`metadata key "${key}" appears twice`);
    const type = c.u32(`value type of "${key}"`);
    metadata.set(key, { type, value: readValue(c, type, `metadata "${key}"`) });
  }
  return metadata;
}

function alignmentOf(c: Cursor, metadata: Map<string, GgufValue>): number {
  const a = metadata.get('general.alignment');
  if (!a) return DEFAULT_ALIGNMENT;
  // gguf.cpp's rule: any power of two up to 1 MiB (llama.cpp loads files aligned to 1, 4 or 16 bytes too)
  const v = a.value;
  if (a.type !== GgufType.UINT32 || typeof v !== 'number' || v === 0 || (v & (v - 1)) !== 0 || v > MAX_ALIGNMENT) {
    c.fail(`general.alignment must be a uint32 power of two up to ${MAX_ALIGNMENT}, got ${JSON.stringify(v)} (type ${a.type})`);
  }
  return v;
}

function readTensorInfo(c: Cursor, i: number): Omit<GgufTensorInfo, 'offset'> & { relOffset: number } {
  const name = c.string(`name of tensor ${i}`, MAX_NAME_BYTES);
  const nDims = c.u32(`n_dims of "${name}"`);
  if (nDims < 1 || nDims > MAX_DIMS) c.fail(`tensor "${name}" has ${nDims} dimensions (expected 1 to ${MAX_DIMS})`);
  const dims: number[] = [];
  for (let d = 0; d < nDims; d++) dims.push(c.u64(`dimension ${d} of "${name}"`));
  const typeId = c.u32(`type of "${name}"`);
  const type = GGML_TYPES.get(typeId);
  if (!type) c.fail(`tensor "${name}" has unknown ggml type ${typeId}`);
  const relOffset = c.u64(`offset of "${name}"`);
  let count = 1;
  for (const d of dims) {
    if (d < 1) c.fail(`tensor "${name}" has a dimension of ${d} (dims [${dims.join(', ')}])`);
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) c.fail(`tensor "${name}" claims dims [${dims.join(', ')}], more elements than any file holds`);
  }
  if (dims[0] % type.blockSize !== 0) c.fail(`tensor "${name}" is ${type.name} but its row of ${dims[0]} is not a multiple of the ${type.blockSize}-weight block`);
  return { name, dims, type, relOffset, nbytes: (count / type.blockSize) * type.typeSize };
}

/** Opens and validates a GGUF file; reads no tensor data. */
export function openGguf(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new GgufError(`cannot open GGUF file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parse(fd, path);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function parse(fd: number, path: string): GgufFile {
  const c = new Cursor(fd, fstatSync(fd).size, path);
  if (c.size < 4 || c.u32('magic') !== GGUF_MAGIC) c.fail('not a GGUF file (the first 4 bytes are not "GGUF")');
  const version = c.u32('version');
  if (version !== 2 && version !== 3) c.fail(`GGUF version ${version} is not supported (expected 2 or 3)`);
  const tensorCount = c.u64('tensor_count');
  const kvCount = c.u64('metadata_kv_count');
  if (tensorCount * 24 + kvCount * 12 > c.remaining) c.fail(`truncated: the header claims ${tensorCount} tensors and ${kvCount} metadata pairs but only ${c.remaining} bytes follow`);
  const metadata = readMetadata(c, kvCount);
  const alignment = alignmentOf(c, metadata);
  const infos = Array.from({ length: tensorCount }, (_, i) => readTensorInfo(c, i));
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const { relOffset, ...t } of infos) {
    if (tensors.has(t.name)) c.fail(`tensor "${t.name}" appears twice`);
    if (relOffset % alignment !== 0) c.fail(`tensor "${t.name}" starts at data offset ${relOffset}, not a multiple of the alignment ${alignment}`);
    const offset = dataStart + relOffset;
    if (offset + t.nbytes > c.size) c.fail(`truncated: tensor "${t.name}" (${t.type.name} [${t.dims.join(', ')}], ${t.nbytes} bytes) ends at ${offset + t.nbytes} but the file has ${c.size} bytes`);
    tensors.set(t.name, { ...t, offset });
  }
  checkOverlaps(c, [...tensors.values()]);
  let open = true;
  return {
    path, version, size: c.size, metadata, tensors, alignment, dataStart,
    readTensor(t, into) {
      if (!open) throw new GgufError(`${path}: readTensor("${t.name}") after close()`);
      const out = into ?? new Uint8Array(t.nbytes);
      if (out.byteLength !== t.nbytes) throw new GgufError(`${path}: tensor "${t.name}" has ${t.nbytes} bytes, the buffer ${out.byteLength}`);
      readExact(fd, Buffer.from(out.buffer, out.byteOffset, out.byteLength), t.offset, path);
      return out;
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function checkOverlaps(c: Cursor, tensors: GgufTensorInfo[]): void {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].nbytes) c.fail(`tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap`);
  }
}
