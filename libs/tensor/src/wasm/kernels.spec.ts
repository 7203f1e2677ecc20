/*
 * The wasm kernels against plain loops: each test packs its inputs in the layout kernels.wat
 * documents (written out again here, independently of libs/model's packer), runs the kernel on one
 * thread, and compares with the loop over the unpacked values. Integer dot products are exact, so
 * the quantized kernels differ from the loops only by float rounding in the final sums.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createRng } from '../random';
import { KERNELS_WASM_BASE64 } from './kernels-wasm';

interface Kernels {
  gemv_f32(w: number, x: number, y: number, g0: number, g1: number, cols: number): void;
  gemv_q8(w: number, s: number, xq: number, xs: number, y: number, g0: number, g1: number, cols: number): void;
  gemv_q4(w: number, s: number, xq: number, xsum: number, xs: number, y: number, g0: number, g1: number, cols: number): void;
  quant_q8(src: number, n: number, xq: number, xs: number, xsum: number): void;
  dot_rows(q: number, base: number, rows: number, n: number, hs: number, out: number): void;
  axpy_rows(p: number, base: number, rows: number, n: number, hs: number, out: number): void;
  softmax(s: number, n: number, scale: number): void;
  silu_mul(h: number, up: number, n: number): void;
}

const W = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: SharedArrayBuffer }; Instance: new (m: object, i: object) => { exports: Kernels }; Module: new (b: Uint8Array) => object } }).WebAssembly;

/** A fresh 16 MiB shared memory with the kernels, and a bump allocator over it. */
function setup() {
  const mem = new W.Memory({ initial: 256, maximum: 65536, shared: true });
  const k = new W.Instance(new W.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')), { env: { mem } }).exports;
  let off = 64;
  const alloc = (bytes: number) => {
    const at = off;
    off += Math.ceil(bytes / 64) * 64;
    return at;
  };
  return { k, alloc, f32: new Float32Array(mem.buffer), i32: new Int32Array(mem.buffer), i16: new Int16Array(mem.buffer), u8: new Uint8Array(mem.buffer), i8: new Int8Array(mem.buffer) };
}

const rng = createRng(7);
const rand = () => rng.next() * 2 - 1;
const randInt = (lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));

/** Q8 activations as llama.cpp's SIMD paths compute them: d = amax/127 in f32, q = round-half-even(x * (1/d)). */
function refQuant(x: Float32Array): { q: Int16Array; d: Float32Array; sum: Int32Array } {
  const nb = x.length / 32;
  const q = new Int16Array(x.length), d = new Float32Array(nb), sum = new Int32Array(nb);
  const even = (v: number) => {
    const r = Math.round(v);
    return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    d[b] = Math.fround(amax / 127);
    const id = d[b] !== 0 ? Math.fround(1 / d[b]) : 0;
    for (let j = 0; j < 32; j++) {
      q[b * 32 + j] = even(Math.fround(x[b * 32 + j] * id));
      sum[b] += q[b * 32 + j];
    }
  }
  return { q, d, sum };
}

describe('wasm kernels', () => {
  it('kernels-wasm.ts is kernels.wat assembled', () => {
    const r = spawnSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'assemble-wasm.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toContain('matches');
    expect(r.status).toBe(0);
  });

  it('gemv_f32: a hand-worked 4 x 8 example', () => {
    const { k, alloc, f32 } = setup();
    // W rows: [1..8], all 1, alternating +-1, row r = r at column r only; x = 1..8
    const Wm = [[1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 1, 1, 1, 1, 1, 1], [1, -1, 1, -1, 1, -1, 1, -1], [0, 0, 0, 3, 0, 0, 0, 0]];
    // y = [1+4+9+..+64 = 204, 36, (1-2)+(3-4)+(5-6)+(7-8) = -4, 3 * 4 = 12]
    const w = alloc(4 * 8 * 4), x = alloc(32), y = alloc(16);
    for (let c = 0; c < 2; c++) for (let r = 0; r < 4; r++) for (let j = 0; j < 4; j++) f32[w / 4 + c * 16 + r * 4 + j] = Wm[r][c * 4 + j];
    f32.set([1, 2, 3, 4, 5, 6, 7, 8], x / 4);
    k.gemv_f32(w, x, y, 0, 1, 8);
    expect(Array.from(f32.subarray(y / 4, y / 4 + 4))).toEqual([204, 36, -4, 12]);
  });

  it('gemv_f32 equals the loop on random matrices and group ranges', () => {
    for (const [rows, cols] of [[8, 8], [12, 64], [36, 136]]) {
      const { k, alloc, f32 } = setup();
      const m = Float32Array.from({ length: rows * cols }, rand), xv = Float32Array.from({ length: cols }, rand);
      const w = alloc(rows * cols * 4), x = alloc(cols * 4), y = alloc(rows * 4);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) f32[w / 4 + (r >> 2) * 4 * cols + (c >> 2) * 16 + (r & 3) * 4 + (c & 3)] = m[r * cols + c];
      f32.set(xv, x / 4);
      const G = rows / 4, mid = Math.floor(G / 2);
      k.gemv_f32(w, x, y, 0, mid, cols); // two calls, as two threads split the groups
      k.gemv_f32(w, x, y, mid, G, cols);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += m[r * cols + c] * xv[c];
        expect(f32[y / 4 + r]).toBeCloseTo(s, 5);
      }
    }
  });

  it('quant_q8 quantizes blocks as llama.cpp does (scale, ties to even, block sums, an all-zero block)', () => {
    const { k, alloc, f32, i16, i32 } = setup();
    const n = 96;
    const xv = Float32Array.from({ length: n }, (_, i) => (i < 32 ? 0 : rand() * 3));
    xv[40] = 127 * 0.5; // amax of block 1: d = 0.5, so x = 0.25 * (2m + 1) lands on exact halves
    xv[41] = 0.25; // -> 0.5 -> 0 (even)
    xv[42] = 0.75; // -> 1.5 -> 2 (even)
    const src = alloc(n * 4), xq = alloc(n * 2), xs = alloc(n / 8), xsum = alloc(n / 8);
    f32.set(xv, src / 4);
    k.quant_q8(src, n, xq, xs, xsum);
    const want = refQuant(xv);
    expect(Array.from(i16.subarray(xq / 2, xq / 2 + n))).toEqual(Array.from(want.q));
    expect(Array.from(f32.subarray(xs / 4, xs / 4 + 3))).toEqual(Array.from(want.d));
    expect(Array.from(i32.subarray(xsum / 4, xsum / 4 + 3))).toEqual(Array.from(want.sum));
    expect(want.q[41]).toBe(0);
    expect(want.q[42]).toBe(2);
    expect(f32[xs / 4]).toBe(0);
  });

  it('gemv_q8 and gemv_q4 equal the loop over the integer weights and activations', () => {
    for (const fmt of ['q8', 'q4'] as const) {
      const { k, alloc, f32, i8, u8, i16, i32 } = setup();
      const rows = 8, cols = 96, nb = cols / 32;
      const q = Int8Array.from({ length: rows * cols }, () => (fmt === 'q8' ? randInt(-127, 127) : randInt(-8, 7)));
      const d = Float32Array.from({ length: rows * nb }, () => rng.next() * 0.1);
      const w = alloc(rows * cols), s = alloc(rows * nb * 4), y = alloc(rows * 4);
      for (let r = 0; r < rows; r++) {
        const g = r >> 2, rr = r & 3;
        for (let b = 0; b < nb; b++) {
          f32[s / 4 + (g * nb + b) * 4 + rr] = d[r * nb + b];
          const blk = (g * nb + b) * 4;
          if (fmt === 'q8') for (let j = 0; j < 32; j++) i8[w + blk * 32 + rr * 32 + j] = q[r * cols + b * 32 + j];
          else for (let kk = 0; kk < 8; kk++) {
            const nib = (c: number) => q[r * cols + b * 32 + c] + 8; // stored unsigned, q + 8
            u8[w + blk * 16 + rr * 16 + 2 * kk] = nib(kk) | (nib(8 + kk) << 4);
            u8[w + blk * 16 + rr * 16 + 2 * kk + 1] = nib(16 + kk) | (nib(24 + kk) << 4);
          }
        }
      }
      const xv = Float32Array.from({ length: cols }, rand);
      const src = alloc(cols * 4), xq = alloc(cols * 2), xs = alloc(nb * 4), xsum = alloc(nb * 4);
      f32.set(xv, src / 4);
      k.quant_q8(src, cols, xq, xs, xsum);
      if (fmt === 'q8') k.gemv_q8(w, s, xq, xs, y, 0, 2, cols);
      else k.gemv_q4(w, s, xq, xsum, xs, y, 0, 2, cols);
      for (let r = 0; r < rows; r++) {
        let want = 0;
        for (let b = 0; b < nb; b++) {
          let dot = 0;
          for (let j = 0; j < 32; j++) dot += q[r * cols + b * 32 + j] * i16[xq / 2 + b * 32 + j];
          want += d[r * nb + b] * f32[xs / 4 + b] * dot;
        }
        expect(Math.abs(f32[y / 4 + r] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
      }
      expect(i32[xsum / 4]).toBe(Array.from(i16.subarray(xq / 2, xq / 2 + 32)).reduce((a, v) => a + v, 0));
    }
  });

  it('dot_rows, softmax and axpy_rows compute one head of attention over scattered rows', () => {
    const { k, alloc, f32, i32 } = setup();
    const hs = 16, n = 11, slots = 40;
    const pool = alloc(slots * hs * 4 * 2), q = alloc(hs * 4), rows = alloc(n * 4), sc = alloc(n * 4), out = alloc(hs * 4);
    for (let i = 0; i < slots * hs * 2; i++) f32[pool / 4 + i] = rand();
    for (let i = 0; i < hs; i++) f32[q / 4 + i] = rand() * 3;
    const picked = Array.from({ length: n }, () => randInt(0, slots - 1));
    picked.forEach((sl, j) => (i32[rows / 4 + j] = sl * hs * 2 * 4)); // rows of 2 heads; head 0
    k.dot_rows(q, pool, rows, n, hs, sc);
    const scale = 0.25;
    const logits = picked.map((sl) => {
      let s = 0;
      for (let i = 0; i < hs; i++) s += f32[q / 4 + i] * f32[pool / 4 + sl * hs * 2 + i];
      return s;
    });
    logits.forEach((v, j) => expect(f32[sc / 4 + j]).toBeCloseTo(v, 4));
    k.softmax(sc, n, scale);
    const mx = Math.max(...logits.map((v) => v * scale));
    const e = logits.map((v) => Math.exp(v * scale - mx));
    const z = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => expect(Math.abs(f32[sc / 4 + j] - v / z)).toBeLessThan(1e-6));
    k.axpy_rows(sc, pool, rows, n, hs, out);
    for (let i = 0; i < hs; i++) {
      let s = 0;
      picked.forEach((sl, j) => (s += f32[sc / 4 + j] * f32[pool / 4 + sl * hs * 2 + i]));
      expect(f32[out / 4 + i]).toBeCloseTo(s, 5);
    }
  });

  it('softmax and silu_mul follow Math.exp over the whole float range', () => {
    const { k, alloc, f32 } = setup();
    const xs = [-200, -90, -87, -30, -5, -1, -1e-3, 0, 1e-3, 0.5, 1, 5, 20, 80, 88, 200];
    const n = xs.length;
    const h = alloc(2 * n * 4);
    f32.set(xs, h / 4);
    f32.set(xs.map((_, i) => 0.5 + i), h / 4 + n);
    k.silu_mul(h, n, n);
    xs.forEach((g, i) => {
      const want = (g / (1 + Math.exp(-g))) * (0.5 + i);
      expect(Math.abs(f32[h / 4 + i] - want)).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want)));
    });
    for (const len of [1, 3, 4, 9]) {
      const s = alloc(len * 4);
      const v = Array.from({ length: len }, () => rand() * 40);
      f32.set(v, s / 4);
      k.softmax(s, len, 1.5);
      const mx = Math.max(...v.map((a) => a * 1.5));
      const e = v.map((a) => Math.exp(a * 1.5 - mx));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((a, j) => expect(Math.abs(f32[s / 4 + j] - a / z)).toBeLessThan(1e-6));
    }
  });
});
