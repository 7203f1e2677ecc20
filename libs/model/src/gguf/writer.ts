/*
 * Writes a GGUF version 3 file: header, metadata, tensor infos, padding, then each tensor's data
 * at the next multiple of the alignment (32, written as general.alignment). Tensors are produced
 * one at a time by their `bytes()` callback and written straight to the file, so a whole model
 * never sits in memory twice. A tensor that fails to encode removes the partial file.
 * Follows ggml docs/gguf.md (the file structure and value encodings in ./types.ts).
 * Not here: which keys and tensors a model needs (./save-gguf.ts).
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_SCALAR_BYTES, GGUF_VERSION, GgufError, GgufType, type GgmlTypeInfo, type GgufArray, type GgufScalar, type GgufValue } from './types';

/** A tensor to write: GGUF dims (ne0 first), type, and its data on demand (exactly nbytes). */
export interface GgufTensorToWrite {
  name: string;
  dims: number[];
  type: GgmlTypeInfo;
  bytes(): Uint8Array;
}

/** Growable little-endian byte sink for the header. */
class Sink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  // Every write takes its offset from room() before it reads this.buf: room() may replace the
  // buffer, and `this.buf.write...(v, this.room(n))` would evaluate the old one first.
  u32(v: number): void {
    const at = this.room(4);
    this.buf.writeUInt32LE(v, at);
  }

  u64(v: number | bigint): void {
    const at = this.room(8);
    this.buf.writeBigUInt64LE(BigInt(v), at);
  }

  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    const at = this.room(b.length);
    b.copy(this.buf, at);
  }

  scalar(type: GgufType, v: GgufScalar): void {
    const at = this.room(GGUF_SCALAR_BYTES[type] as number);
    const b = this.buf;
    switch (type) {
      case GgufType.UINT8: b.writeUInt8(Number(v), at); break;
      case GgufType.INT8: b.writeInt8(Number(v), at); break;
      case GgufType.UINT16: b.writeUInt16LE(Number(v), at); break;
      case GgufType.INT16: b.writeInt16LE(Number(v), at); break;
      case GgufType.UINT32: b.writeUInt32LE(Number(v), at); break;
      case GgufType.INT32: b.writeInt32LE(Number(v), at); break;
      case GgufType.FLOAT32: b.writeFloatLE(Number(v), at); break;
      case GgufType.FLOAT64: b.writeDoubleLE(Number(v), at); break;
      case GgufType.BOOL: b.writeUInt8(v ? 1 : 0, at); break;
      case GgufType.UINT64: b.writeBigUInt64LE(BigInt(v), at); break;
      case GgufType.INT64: b.writeBigInt64LE(BigInt(v), at); break;
      default: throw new GgufError(`cannot write a scalar of GGUF type ${type}`);
    }
  }

  value(type: GgufType, v: GgufScalar | GgufArray): void {
    if (type === GgufType.STRING) return this.string(String(v));
    if (type !== GgufType.ARRAY) return this.scalar(type, v as GgufScalar);
    const arr = v as GgufArray;
    this.u32(arr.itemType);
    this.u64(arr.items.length);
    for (const item of arr.items) this.value(arr.itemType, item);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Writes `path`; `onTensor(i, total, name)` after each tensor's data. */
export function writeGguf(path: string, metadata: Array<[string, GgufValue]>, tensors: GgufTensorToWrite[], onTensor?: (done: number, total: number, name: string) => void): void {
  const kv = [['general.alignment', { type: GgufType.UINT32, value: DEFAULT_ALIGNMENT }] as [string, GgufValue], ...metadata.filter(([k]) => k !== 'general.alignment')];
  const h = new Sink();
  h.u32(GGUF_MAGIC);
  h.u32(GGUF_VERSION);
  h.u64(tensors.length);
  h.u64(kv.length);
  for (const [key, v] of kv) {
    h.string(key);
    h.u32(v.type);
    h.value(v.type, v.value);
  }
  let offset = 0;
  const sizes = tensors.map((t) => (t.dims.reduce((a, b) => a * b, 1) / t.type.blockSize) * t.type.typeSize);
  tensors.forEach((t, i) => {
    h.string(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(t.type.id);
    h.u64(offset);
    offset = align(offset + sizes[i], DEFAULT_ALIGNMENT);
  });
  const header = h.bytes();
  const fd = openSync(path, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    const pad = () => put(new Uint8Array(align(pos, DEFAULT_ALIGNMENT) - pos));
    put(header);
    pad();
    tensors.forEach((t, i) => {
      const b = t.bytes();
      if (b.length !== sizes[i]) throw new GgufError(`tensor "${t.name}" (${t.type.name} [${t.dims.join(', ')}]) produced ${b.length} bytes, expected ${sizes[i]}`);
      put(b);
      pad();
      onTensor?.(i + 1, tensors.length, t.name);
    });
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true }); // no half-written file left behind
    throw e;
  }
  closeSync(fd);
}
