/*
 * The machine's memory bandwidth, measured in the bench's own run: the STREAM triad
 * a[i] = b[i] + s * c[i] over three 32 MiB Float64Arrays (far past the caches) on `threads`
 * worker threads at once (the same number of cores the ONNX Runtime sessions use), released
 * together by an Atomics barrier. Bytes per element: 24 (read b and c, write a), as STREAM
 * counts them. The best of `reps` passes per thread, summed over threads.
 * Not a full STREAM (no copy/scale/add kernels, no write-allocate accounting); it is the
 * denominator of the bench's roofline fractions and is printed beside them.
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
let best = Infinity;
for (let r = 0; r < workerData.reps; r++) {
  const t0 = process.hrtime.bigint();
  const s = 3 + r;
  for (let i = 0; i < n; i++) a[i] = b[i] + s * c[i];
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
}
parentPort.postMessage({ bytesPerS: (24 * n) / best, check: a[n - 1] });
`;

export interface Bandwidth {
  /** Summed over threads, bytes per second. */
  bytesPerS: number;
  threads: number;
}

/** Triad bandwidth on `threads` threads (see the file comment). */
export async function measureBandwidth(threads: number, reps = 8, mib = 32): Promise<Bandwidth> {
  const n = (mib * 1024 * 1024) / 8;
  const gate = new SharedArrayBuffer(8);
  const g = new Int32Array(gate);
  const workers = Array.from({ length: threads }, () => new Worker(TRIAD_SOURCE, { eval: true, workerData: { n, reps, gate } }));
  const results = workers.map((w) => new Promise<number>((resolve, reject) => {
    w.once('message', (m: { bytesPerS: number }) => resolve(m.bytesPerS));
    w.once('error', reject);
  }));
  while (Atomics.load(g, 1) < threads) await new Promise((r) => setTimeout(r, 5)); // every thread has filled its arrays
  Atomics.store(g, 0, 1);
  Atomics.notify(g, 0);
  const rates = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  return { bytesPerS: rates.reduce((x, y) => x + y, 0), threads };
}
