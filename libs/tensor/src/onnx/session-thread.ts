/*
 * OrtThreadSession: an ONNX Runtime session that lives on its own worker thread, so a long run
 * (a 2048-token prefill takes seconds) never blocks the event loop that also serves HTTP, gRPC
 * and the queue. onnxruntime-node's `InferenceSession.run` is async in name only: it defers to
 * setImmediate and then computes synchronously on the calling thread (its dist/backend.js), so
 * the loop is frozen for the whole run. Here the main thread posts the feeds and awaits outputs.
 *
 * Memory: ORT's native binding refuses SharedArrayBuffer-backed tensors ("Invalid argument"), so
 * large state that every run reads (the KV pool) cannot be shared with the main thread. It lives
 * on the thread instead as *resident* tensors: set once (setResident), fed to every run by name,
 * updated in place from a run's outputs (`writes`: rows of an output scattered to slots of a
 * resident tensor, how new K/V enters the pool) and by copyRows (copy-on-write block copies).
 * Other feeds are copied by postMessage (they are small: indices, masks); outputs come back by
 * transferring their buffers (copied where ORT does not allow it). Model bytes are transferred
 * when the caller says it no longer needs them (`transferBytes`), else copied once.
 *
 * Not a pool of threads: one thread per session; runs and updates are applied in call order.
 * Same session options as createOrtSession (ortSessionOptions). The thread holds the process
 * alive only while a call is in flight, so a caller that never releases it does not hang exit.
 */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { ortSessionOptions, type OrtSessionOptions } from './session';

/** Tensor data the thread can rebuild an ort.Tensor from. */
type FeedData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** An output of a threaded run: the fields outputF32 reads. */
export interface ThreadOutput {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

/** The thread's side: plain CommonJS, evaluated with `eval: true` so it runs from source and from dist alike. */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
const resident = new Map(); // name -> { data: Float32Array, tensor: ort.Tensor }
function scatter(out, w) {
  // out[w.output] is (rows, w.parts * D); row w.srcRows[i], part j -> resident w.targets[j] at w.slots[i] * D
  const src = out[w.output].data;
  const D = w.rowFloats;
  const P = w.targets.length;
  for (let j = 0; j < P; j++) {
    const dst = resident.get(w.targets[j]).data;
    for (let i = 0; i < w.srcRows.length; i++) {
      const o = (w.srcRows[i] * P + j) * D;
      dst.set(src.subarray(o, o + D), w.slots[i] * D);
    }
  }
}
async function handle(m) {
  if (m.kind === 'open') { session = await ort.InferenceSession.create(m.bytes, m.options); return {}; }
  if (m.kind === 'resident') {
    resident.set(m.name, { data: m.data, tensor: new ort.Tensor('float32', m.data, m.dims) });
    return {};
  }
  if (m.kind === 'copyRows') {
    for (const name of m.names) {
      const d = resident.get(name).data;
      for (let i = 0; i < m.pairs.length; i += 2) d.copyWithin(m.pairs[i + 1] * m.rowFloats, m.pairs[i] * m.rowFloats, (m.pairs[i] + 1) * m.rowFloats);
    }
    return {};
  }
  if (m.kind === 'writeRows') {
    const D = m.rowFloats, n = m.slots.length;
    m.names.forEach((name, j) => {
      const d = resident.get(name).data;
      for (let i = 0; i < n; i++) d.set(m.data.subarray((j * n + i) * D, (j * n + i + 1) * D), m.slots[i] * D);
    });
    return {};
  }
  if (m.kind === 'run') {
    const feeds = {};
    for (const name of Object.keys(m.feeds)) { const f = m.feeds[name]; feeds[name] = new ort.Tensor(f.type, f.data, f.dims); }
    for (const name of m.residentFeeds) feeds[name] = resident.get(name).tensor;
    const out = await session.run(feeds);
    for (const w of m.writes) scatter(out, w);
    const res = {};
    for (const name of Object.keys(out)) { const t = out[name]; res[name] = { type: t.type, data: t.data, dims: t.dims }; }
    return { out: res, transfer: Object.values(res).map((t) => t.data.buffer) };
  }
  if (m.kind === 'endProfiling') { session.endProfiling(); return {}; }
  if (m.kind === 'release') { if (session) await session.release(); session = undefined; resident.clear(); return {}; }
  throw new Error('unknown message ' + m.kind);
}
parentPort.on('message', async (m) => {
  let r;
  try { r = await handle(m); } catch (e) { parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) }); return; }
  try { parentPort.postMessage({ id: m.id, out: r.out }, r.transfer || []); }
  catch (e) { parentPort.postMessage({ id: m.id, out: r.out }); } // a buffer ORT owns cannot be transferred: copy
});
`;

interface Pending {
  resolve(v: Record<string, ThreadOutput> | undefined): void;
  reject(e: Error): void;
}

/** Rows of a run's output scattered into resident tensors (see the file comment). */
export interface ResidentWrite {
  /** Output (rows, targets.length * rowFloats): part j of a row goes to targets[j]. */
  output: string;
  /** Resident tensor names, one per part. */
  targets: string[];
  /** Output row of write i. */
  srcRows: Int32Array;
  /** Destination row (of rowFloats floats) of write i in every target. */
  slots: Int32Array;
  rowFloats: number;
}

export interface ThreadRunOptions {
  /** Resident tensors to feed under their own names. */
  residentFeeds?: string[];
  /** Scatter some outputs into resident tensors after the run (before the outputs return). */
  writes?: ResidentWrite[];
}

export class OrtThreadSession {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (m: { id: number; out?: Record<string, ThreadOutput>; error?: string }) => this.settle(m));
    worker.on('error', (e) => this.fail(new Error(`ONNX Runtime thread failed: ${e.message}`)));
    worker.on('exit', (code) => this.fail(new Error(`ONNX Runtime thread exited (code ${code})`)));
  }

  /**
   * Opens a CPU session over serialised ONNX bytes on a new thread (same options as
   * createOrtSession). With `transferBytes` the bytes' buffer moves to the thread (the caller's
   * view becomes empty); pass it only for bytes nothing else uses.
   */
  static async create(modelBytes: Uint8Array, opts: OrtSessionOptions & { transferBytes?: boolean }): Promise<OrtThreadSession> {
    const options = ortSessionOptions(opts.threads, opts.profileFilePrefix);
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { ortPath: require.resolve('onnxruntime-node') } });
    const s = new OrtThreadSession(worker);
    const whole = modelBytes.byteOffset === 0 && modelBytes.byteLength === modelBytes.buffer.byteLength && modelBytes.buffer instanceof ArrayBuffer;
    try {
      await s.call({ kind: 'open', bytes: modelBytes, options }, opts.transferBytes && whole ? [modelBytes.buffer as ArrayBuffer] : []);
    } catch (e) {
      await worker.terminate();
      throw new Error(`createOrtSession: ONNX Runtime rejected the model (${(e as Error).message})`);
    }
    return s;
  }

  /** Places a float tensor on the thread under `name` (a copy of `data`; later updates go through writes / copyRows). */
  async setResident(name: string, data: Float32Array, dims: number[]): Promise<void> {
    await this.call({ kind: 'resident', name, data, dims });
  }

  /** In each named resident tensor, copies row pairs[2i] onto row pairs[2i + 1] (rows of rowFloats floats), in order. */
  async copyRows(names: string[], pairs: Int32Array, rowFloats: number): Promise<void> {
    await this.call({ kind: 'copyRows', names, pairs, rowFloats });
  }

  /** One run: feeds are ort.Tensors (or anything with type, data, dims); outputs by name. */
  /** Writes rows into resident tensors: data holds names.length x slots.length rows of rowFloats, name-major. */
  async writeRows(names: string[], slots: Int32Array, data: Float32Array, rowFloats: number): Promise<void> {
    await this.call({ kind: 'writeRows', names, slots, data, rowFloats });
  }

  async run(feeds: Record<string, { type: string; data: unknown; dims: readonly number[] }>, opts: ThreadRunOptions = {}): Promise<Record<string, ThreadOutput>> {
    const plain: Record<string, { type: string; data: FeedData; dims: readonly number[] }> = {};
    for (const [name, t] of Object.entries(feeds)) plain[name] = { type: t.type, data: t.data as FeedData, dims: t.dims };
    return (await this.call({ kind: 'run', feeds: plain, residentFeeds: opts.residentFeeds ?? [], writes: opts.writes ?? [] })) as Record<string, ThreadOutput>;
  }
  /** Writes the profile when the session was opened with profileFilePrefix. */
  async endProfiling(): Promise<void> {
    await this.call({ kind: 'endProfiling' });
  }

  /** Releases the session and ends the thread. */
  async release(): Promise<void> {
    if (!this.failure) await this.call({ kind: 'release' }).catch(() => undefined);
    this.failure ??= new Error('ONNX Runtime thread session was released');
    await this.worker.terminate();
  }

  private call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Record<string, ThreadOutput> | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref(); // keep the process alive while a call is in flight
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private settle(m: { id: number; out?: Record<string, ThreadOutput>; error?: string }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.out);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }
}
