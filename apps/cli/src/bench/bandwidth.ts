/*
 * The machine's memory bandwidth, measured in the bench's own run, on `threads` worker threads at
 * once (the cores the ONNX Runtime sessions use), released together by an Atomics barrier, over
 * 32 MiB Float64Arrays (far past the caches); the best of `reps` passes per thread, summed:
 *   triad  a[i] = b[i] + s * c[i] as a JS loop, 24 bytes per element (read b, c; write a), as
 *          STREAM counts them. On V8 this loop is bound by the JIT's code, not by memory (about
 *          4 GB/s per core where memcpy moves 20), so it is printed but is not the denominator;
 *   copy   a.set(b), the runtime's memcpy, 16 bytes per element (read b, write a): native
 *          vector code, the figure that reaches the memory system's limit.
 * The roofline denominator is the larger of the two (in practice copy). Not a full STREAM (no
 * scale/add kernels, no write-allocate accounting); printed beside the roofline fractions.
 */
import { Worker } from 'node:worker_threads';

const TRIAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const n = workerData.n;
const a = new Float64Array(n), b = new Float64Array(n), c = new Float64Array(n);
for (let i = 0; i < n; i++) { b[i] = i % 7; c[i] = i % 5; }
const gate = new Int32Array(workerData.gate);
Atomics.add(gate, 1, 1);
Atomics.wait(gate, 0, 0); // until the main thread opens the gate
let triad = Infinity, copy = Infinity;
for (let r = 0; r < workerData.reps; r++) {
  let t0 = process.hrtime.bigint();
  const s = 3 + r;
  for (let i = 0; i < n; i++) a[i] = b[i] + s * c[i];
  triad = Math.min(triad, Number(process.hrtime.bigint() - t0) / 1e9);
  t0 = process.hrtime.bigint();
  a.set(r % 2 ? b : c);
  copy = Math.min(copy, Number(process.hrtime.bigint() - t0) / 1e9);
}
parentPort.postMessage({ triad: (24 * n) / triad, copy: (16 * n) / copy, check: a[n - 1] });
`;

export interface Bandwidth {
  /** The roofline denominator: max(triad, copy), bytes per second summed over threads. */
  bytesPerS: number;
  triadBytesPerS: number;
  copyBytesPerS: number;
  threads: number;
}

/** Triad and copy bandwidth on `threads` threads (see the file comment). */
export async function measureBandwidth(threads: number, reps = 8, mib = 32): Promise<Bandwidth> {
  const n = (mib * 1024 * 1024) / 8;
  const gate = new SharedArrayBuffer(8);
  const g = new Int32Array(gate);
  const workers = Array.from({ length: threads }, () => new Worker(TRIAD_SOURCE, { eval: true, workerData: { n, reps, gate } }));
  const results = workers.map((w) => new Promise<{ triad: number; copy: number }>((resolve, reject) => {
    w.once('message', (m: { triad: number; copy: number }) => resolve(m));
    w.once('error', reject);
  }));
  while (Atomics.load(g, 1) < threads) await new Promise((r) => setTimeout(r, 5)); // every thread has filled its arrays
  Atomics.store(g, 0, 1);
  Atomics.notify(g, 0);
  const rates = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  const triadBytesPerS = rates.reduce((x, y) => x + y.triad, 0);
  const copyBytesPerS = rates.reduce((x, y) => x + y.copy, 0);
  return { bytesPerS: Math.max(triadBytesPerS, copyBytesPerS), triadBytesPerS, copyBytesPerS, threads };
}
