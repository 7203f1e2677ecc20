/*
 * The machine's memory bandwidth, measured in the bench's own run, on `threads` worker threads at
 * once (the cores the ONNX Runtime sessions use), released together by an Atomics barrier, over
 * 32 MiB arrays per thread (three per thread: far past the caches). Two kernels, `reps` passes each;
 * every pass starts on all threads at once (a gate per pass) and is timed as an aggregate: the bytes
 * every thread moved / (last thread's end - first thread's start), so the threads really compete for
 * the memory system; the best pass counts, as STREAM reports the best of its trials (this VM's
 * bandwidth moves by tens of percent from second to second):
 *   triad  a[i] = b[i] + s * c[i] over float64, 24 bytes per element (read b, c; write a), as
 *          STREAM counts them, run as WebAssembly SIMD (TRIAD_WAT below: f64x2, unrolled four
 *          times) so the figure is the memory system's, not the JIT's (a plain JS loop tops out
 *          near 7 GB/s per core here, under half of what the same loop does in SIMD);
 *   copy   a.set(b), the runtime's memcpy, 16 bytes per element (read b, write a).
 * Every array is written once and each kernel runs three untimed passes first, so the timed passes
 * see no first-touch page faults and the wasm engine's optimising tier (its baseline tier runs first).
 * The roofline denominator is the larger of the two. Not a full STREAM (no scale/add kernels, no
 * write-allocate accounting); printed beside the roofline fractions.
 */
import { Worker } from 'node:worker_threads';

/**
 * The triad kernel's WebAssembly text; TRIAD_WASM is its binary (229 bytes, assembled from this
 * text). `n` is bytes per array (a multiple of 64); a, b, c are byte offsets into the imported memory.
 *
 * (module (import "env" "mem" (memory 1))
 *   (func (export "triad") (param $a i32) (param $b i32) (param $c i32) (param $n i32) (param $s f64)
 *     (local $i i32) (local $sv v128)
 *     (local.set $sv (f64x2.splat (local.get $s)))
 *     (block $done (loop $l
 *       (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
 *       ;; four times, at offset = 0, 16, 32, 48:
 *       (v128.store offset=OFF (i32.add (local.get $a) (local.get $i))
 *         (f64x2.add (v128.load offset=OFF (i32.add (local.get $b) (local.get $i)))
 *                    (f64x2.mul (local.get $sv) (v128.load offset=OFF (i32.add (local.get $c) (local.get $i))))))
 *       (local.set $i (i32.add (local.get $i) (i32.const 64)))
 *       (br $l)))))
 */
export const TRIAD_WASM_BASE64 =
  'AGFzbQEAAAABCQFgBX9/f398AAIMAQNlbnYDbWVtAgABAwIBAAcJAQV0cmlhZAAACrIBAa8BAgF/AXsgBP0UIQYCQANAIAUgA08NASAAIAVqIAEgBWr9AAQAIAYgAiAFav0ABAD98gH98AH9CwQAIAAgBWogASAFav0ABBAgBiACIAVq/QAEEP3yAf3wAf0LBBAgACAFaiABIAVq/QAEICAGIAIgBWr9AAQg/fIB/fAB/QsEICAAIAVqIAEgBWr9AAQwIAYgAiAFav0ABDD98gH98AH9CwQwIAVBwABqIQUMAAsLCw==';

/** The slice of the WebAssembly global this file uses (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The triad kernel over arrays of `bytesPerArray` bytes in fresh wasm memory, with the three float64 views (the worker threads build the same). */
export function wasmTriad(bytesPerArray: number): { run: (s: number) => void; a: Float64Array; b: Float64Array; c: Float64Array } {
  if (bytesPerArray <= 0 || bytesPerArray % 64 !== 0) throw new RangeError(`wasmTriad: bytesPerArray must be a positive multiple of 64, got ${bytesPerArray}`);
  const mem = new Wasm.Memory({ initial: Math.ceil((3 * bytesPerArray) / 65536) });
  const inst = new Wasm.Instance(new Wasm.Module(Buffer.from(TRIAD_WASM_BASE64, 'base64')), { env: { mem } });
  const triad = inst.exports.triad as (a: number, b: number, c: number, n: number, s: number) => void;
  const n = bytesPerArray / 8;
  return {
    run: (s: number) => triad(0, bytesPerArray, 2 * bytesPerArray, bytesPerArray, s),
    a: new Float64Array(mem.buffer, 0, n),
    b: new Float64Array(mem.buffer, bytesPerArray, n),
    c: new Float64Array(mem.buffer, 2 * bytesPerArray, n),
  };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bytes = workerData.bytes, n = bytes / 8;
const mem = new WebAssembly.Memory({ initial: Math.ceil((3 * bytes) / 65536) });
const kernel = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(workerData.wasm, 'base64')), { env: { mem } }).exports.triad;
const a = new Float64Array(mem.buffer, 0, n), b = new Float64Array(mem.buffer, bytes, n), c = new Float64Array(mem.buffer, 2 * bytes, n);
for (let i = 0; i < n; i++) { a[i] = 0; b[i] = i % 7; c[i] = i % 5; }
const src = new Float64Array(n).fill(1), dst = new Float64Array(n).fill(2); // every page touched: no first-touch faults in the timed passes
for (let r = 0; r < 3; r++) { kernel(0, bytes, 2 * bytes, bytes, 1); dst.set(src); } // warm-up: the wasm engine's optimising tier, caches, TLB
const gate = new Int32Array(workerData.gate);
const now = () => Number(process.hrtime.bigint()) / 1e9; // one monotonic clock for every thread of the process
let phase = 0;
const pass = (work) => {
  Atomics.add(gate, 1, 1);
  Atomics.wait(gate, 0, phase++); // until the main thread opens this pass's gate: every thread starts together
  const t0 = now();
  work();
  return [t0, now()];
};
const triad = [], copy = [];
for (let r = 0; r < workerData.reps; r++) triad.push(pass(() => kernel(0, bytes, 2 * bytes, bytes, 3 + r)));
for (let r = 0; r < workerData.reps; r++) copy.push(pass(() => dst.set(r % 2 ? src : b)));
parentPort.postMessage({ triad, copy, check: a[n - 1] + dst[0] });
`;

export interface Bandwidth {
  /** The roofline denominator: max(triad, copy), bytes per second over all threads together. */
  bytesPerS: number;
  triadBytesPerS: number;
  copyBytesPerS: number;
  threads: number;
}

/** Aggregate rate of one pass: every thread's bytes over the span from the first start to the last end. */
function aggregate(spans: Array<[number, number]>, bytesPerThread: number): number {
  const start = Math.min(...spans.map((s) => s[0]));
  const end = Math.max(...spans.map((s) => s[1]));
  return (bytesPerThread * spans.length) / (end - start);
}

/** The best pass's aggregate rate (as STREAM reports the best of its trials); spans[thread][pass]. */
function bestPass(spans: Array<Array<[number, number]>>, bytesPerThread: number): number {
  let best = 0;
  for (let r = 0; r < spans[0].length; r++) best = Math.max(best, aggregate(spans.map((t) => t[r]), bytesPerThread));
  return best;
}

/** Triad and copy bandwidth on `threads` threads (see the file comment). */
export async function measureBandwidth(threads: number, reps = 8, mib = 32): Promise<Bandwidth> {
  const bytes = mib * 1024 * 1024;
  const gate = new SharedArrayBuffer(8);
  const g = new Int32Array(gate);
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { bytes, reps, gate, wasm: TRIAD_WASM_BASE64 } }));
  let failure: Error | undefined;
  const results = workers.map((w) => new Promise<{ triad: Array<[number, number]>; copy: Array<[number, number]> }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', (e) => reject((failure = e)));
  }));
  results.forEach((r) => r.catch(() => undefined)); // observed below; a failed thread must not be an unhandled rejection
  try {
    for (let phase = 1; phase <= 2 * reps; phase++) {
      // every thread is parked at this phase's gate (the first after filling its arrays)
      while (Atomics.load(g, 1) < threads * phase) {
        if (failure) throw new Error(`memory bandwidth probe: a thread failed (${failure.message})`);
        await new Promise((r) => setTimeout(r, 2));
      }
      Atomics.store(g, 0, phase);
      Atomics.notify(g, 0);
    }
    const spans = await Promise.all(results);
    const triadBytesPerS = bestPass(spans.map((s) => s.triad), 24 * (bytes / 8));
    const copyBytesPerS = bestPass(spans.map((s) => s.copy), 16 * (bytes / 8));
    return { bytesPerS: Math.max(triadBytesPerS, copyBytesPerS), triadBytesPerS, copyBytesPerS, threads };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * `measure()` with the memory bandwidth measured right before and right after it, the larger of
 * the two. This machine's bandwidth drifts (22 to 49 GB/s between runs, and by a quarter within a
 * run); a roofline fraction against a triad measured minutes earlier mixes that drift into the
 * figure, one against the bandwidth beside it does not, and the larger of the two keeps it from
 * flattering the kernel. Used for every decode-batch-1 row, ours and llama.cpp's alike.
 */
export async function besideBandwidth<T>(threads: number, measure: () => Promise<T>): Promise<{ result: T; bandwidth: number }> {
  const before = await measureBandwidth(threads, 4);
  const result = await measure();
  const after = await measureBandwidth(threads, 4);
  return { result, bandwidth: Math.max(before.bytesPerS, after.bytesPerS) };
}
