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
  exp_scores(s: number, n: number, scale: number, stats: number): void;
  add_rmsnorm(x: number, add: number, w: number, dst: number, n: number, eps: number): void;
  silu_mul(h: number, up: number, n: number, dst: number): void;
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
  it('kernels-wasm.ts and kernels-relaxed-wasm.ts are their .wat texts assembled', () => {
    const r = spawnSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'assemble-wasm.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toContain('kernels-wasm.ts matches kernels.wat');
    expect(r.stderr + r.stdout).toContain('kernels-relaxed-wasm.ts matches kernels-relaxed.wat');
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

  it('gemv_q8 over every range of groups [g0, g1) writes exactly that range, as the loop', () => {
    const { k, alloc, f32, i8 } = setup();
    const G = 8, rows = 4 * G, cols = 64, nb = cols / 32;
    const q = Int8Array.from({ length: rows * cols }, () => randInt(-127, 127));
    const w = alloc(rows * cols), s = alloc(rows * nb * 4), y = alloc(rows * 4);
    for (let r = 0; r < rows; r++) {
      const g = r >> 2, rr = r & 3;
      for (let b = 0; b < nb; b++) {
        f32[s / 4 + (g * nb + b) * 4 + rr] = 0.01 * (1 + ((r + b) % 5));
        for (let j = 0; j < 32; j++) i8[w + (g * nb + b) * 128 + rr * 32 + j] = q[r * cols + b * 32 + j];
      }
    }
    const xv = Float32Array.from({ length: cols }, rand);
    const src = alloc(cols * 4), xq = alloc(cols * 2), xs = alloc(nb * 4), xsum = alloc(nb * 4);
    f32.set(xv, src / 4);
    k.quant_q8(src, cols, xq, xs, xsum);
    const i16 = new Int16Array(f32.buffer);
    const want = (r: number) => {
      let t = 0;
      for (let b = 0; b < nb; b++) {
        let dot = 0;
        for (let j = 0; j < 32; j++) dot += q[r * cols + b * 32 + j] * i16[xq / 2 + b * 32 + j];
        t += f32[s / 4 + (r >> 2) * nb * 4 + b * 4 + (r & 3)] * f32[xs / 4 + b] * dot;
      }
      return t;
    };
    for (let g0 = 0; g0 < G; g0++) {
      for (let g1 = g0; g1 <= G; g1++) {
        f32.fill(-999, y / 4, y / 4 + rows);
        k.gemv_q8(w, s, xq, xs, y, g0, g1, cols);
        for (let r = 0; r < rows; r++) {
          const g = r >> 2;
          if (g < g0 || g >= g1) expect(f32[y / 4 + r]).toBe(-999);
          else expect(Math.abs(f32[y / 4 + r] - want(r))).toBeLessThan(1e-5 * Math.max(1, Math.abs(want(r))));
        }
      }
    }
  });

  it('dot_rows and axpy_rows: every row count (four rows at a time, then one by one) and head sizes 16, 48, 64 (32 columns at a time, then 16) against plain loops', () => {
    const { k, alloc, f32, i32 } = setup();
    for (const hs of [16, 48, 64]) {
      const slots = 24, pool = alloc(slots * hs * 4), q = alloc(hs * 4), rows = alloc(16 * 4), sc = alloc(16 * 4 + 16);
      for (let i = 0; i < slots * hs; i++) f32[pool / 4 + i] = rand();
      for (let i = 0; i < hs; i++) f32[q / 4 + i] = rand() * 2;
      for (let n = 0; n <= 9; n++) {
        const picked = Array.from({ length: n }, () => randInt(0, slots - 1));
        picked.forEach((sl, j) => (i32[rows / 4 + j] = sl * hs * 4));
        f32[sc / 4 + n] = 12345; // the word after the last score stays as it was
        k.dot_rows(q, pool, rows, n, hs, sc);
        picked.forEach((sl, j) => {
          let want = 0;
          for (let i = 0; i < hs; i++) want += f32[pool / 4 + sl * hs + i] * f32[q / 4 + i];
          expect(Math.abs(f32[sc / 4 + j] - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
        });
        expect(f32[sc / 4 + n]).toBe(12345);
        // axpy_rows with the scores as weights: out = sum_j sc[j] row_j, every column
        const out = alloc(hs * 4 + 16);
        f32.fill(7, out / 4, out / 4 + hs); // overwritten, not added to
        f32[out / 4 + hs] = 12345;
        k.axpy_rows(sc, pool, rows, n, hs, out);
        for (let i = 0; i < hs; i++) {
          const want = picked.reduce((a, sl, j) => a + f32[sc / 4 + j] * f32[pool / 4 + sl * hs + i], 0);
          expect(Math.abs(f32[out / 4 + i] - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
        }
        expect(f32[out / 4 + hs]).toBe(12345);
      }
    }
  });

  it('dot_rows, exp_scores and axpy_rows compute one head of attention in two parts that combine exactly', () => {
    const { k, alloc, f32, i32 } = setup();
    const hs = 16, n = 11, slots = 40, scale = 0.25;
    const pool = alloc(slots * hs * 4 * 2), q = alloc(hs * 4), rows = alloc(n * 4), sc = alloc(n * 4), out = alloc(2 * hs * 4), st = alloc(16);
    for (let i = 0; i < slots * hs * 2; i++) f32[pool / 4 + i] = rand();
    for (let i = 0; i < hs; i++) f32[q / 4 + i] = rand() * 3;
    const picked = Array.from({ length: n }, () => randInt(0, slots - 1));
    picked.forEach((sl, j) => (i32[rows / 4 + j] = sl * hs * 2 * 4)); // rows of 2 heads; head 0
    const row = (sl: number) => Array.from(f32.subarray(pool / 4 + sl * hs * 2, pool / 4 + sl * hs * 2 + hs));
    const logits = picked.map((sl) => row(sl).reduce((a, v, i) => a + v * f32[q / 4 + i], 0));
    // the reference: softmax(logits * scale) . V over all rows
    const mx = Math.max(...logits.map((v) => v * scale));
    const e = logits.map((v) => Math.exp(v * scale - mx));
    const z = e.reduce((a, b) => a + b, 0);
    const want = Array.from({ length: hs }, (_, i) => picked.reduce((a, sl, j) => a + (e[j] / z) * row(sl)[i], 0));
    // two parts, positions [0, 4) and [4, n), as two threads split them
    const parts = [[0, 4], [4, n]].map(([a, b], p) => {
      k.dot_rows(q, pool, rows + 4 * a, b - a, hs, sc + 4 * a);
      for (let j = a; j < b; j++) expect(f32[sc / 4 + j]).toBeCloseTo(logits[j], 4);
      k.exp_scores(sc + 4 * a, b - a, scale, st + 8 * p);
      k.axpy_rows(sc + 4 * a, pool, rows + 4 * a, b - a, hs, out + p * hs * 4);
      return { m: f32[st / 4 + 2 * p], s: f32[st / 4 + 2 * p + 1], o: Array.from(f32.subarray(out / 4 + p * hs, out / 4 + (p + 1) * hs)) };
    });
    const M = Math.max(...parts.map((p) => p.m));
    expect(M).toBeCloseTo(mx, 5);
    const w = parts.map((p) => Math.exp(p.m - M));
    const den = parts.reduce((a, p, i) => a + w[i] * p.s, 0);
    expect(den).toBeCloseTo(z, 5);
    for (let i = 0; i < hs; i++) expect(parts.reduce((a, p, j) => a + w[j] * p.o[i], 0) / den).toBeCloseTo(want[i], 5);
    k.exp_scores(sc, 0, scale, st); // an empty part
    expect([f32[st / 4], f32[st / 4 + 1]]).toEqual([-Infinity, 0]);
  });

  it('add_rmsnorm adds the residual and normalises, with and without the add', () => {
    const { k, alloc, f32 } = setup();
    const n = 12, eps = 1e-5;
    const x = alloc(n * 4), add = alloc(n * 4), w = alloc(n * 4), dst = alloc(n * 4);
    const xv = Array.from({ length: n }, rand), av = Array.from({ length: n }, rand), wv = Array.from({ length: n }, rand);
    f32.set(xv, x / 4); f32.set(av, add / 4); f32.set(wv, w / 4);
    const ref = (v: number[]) => { const r = 1 / Math.sqrt(v.reduce((a, b) => a + b * b, 0) / n + eps); return v.map((a, i) => a * r * wv[i]); };
    k.add_rmsnorm(x, add, w, dst, n, eps);
    const sum = xv.map((v, i) => v + av[i]);
    sum.forEach((v, i) => expect(f32[x / 4 + i]).toBeCloseTo(v, 6));
    ref(sum).forEach((v, i) => expect(f32[dst / 4 + i]).toBeCloseTo(v, 5));
    k.add_rmsnorm(x, 0, w, dst, n, eps); // no add: x stays
    sum.forEach((v, i) => expect(f32[x / 4 + i]).toBeCloseTo(v, 6));
    ref(sum).forEach((v, i) => expect(f32[dst / 4 + i]).toBeCloseTo(v, 5));
  });

  it('silu_mul and exp_scores follow Math.exp over the whole float range', () => {
    const { k, alloc, f32 } = setup();
    const xs = [-200, -90, -87, -30, -5, -1, -1e-3, 0, 1e-3, 0.5, 1, 5, 20, 80, 88, 200];
    const n = xs.length;
    const h = alloc(2 * n * 4);
    f32.set(xs, h / 4);
    f32.set(xs.map((_, i) => 0.5 + i), h / 4 + n);
    const out = alloc(n * 4);
    k.silu_mul(h, n, n, out); // into another buffer, h untouched
    expect(Array.from(f32.subarray(h / 4, h / 4 + n))).toEqual(xs.map((x) => Math.fround(x)));
    k.silu_mul(h, n, n, h); // in place
    xs.forEach((g, i) => {
      const want = (g / (1 + Math.exp(-g))) * (0.5 + i);
      expect(Math.abs(f32[out / 4 + i] - want)).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want)));
      expect(f32[h / 4 + i]).toBe(f32[out / 4 + i]);
    });
    for (const len of [1, 3, 4, 9]) {
      const s = alloc(len * 4), st = alloc(8);
      const v = Array.from({ length: len }, () => rand() * 40);
      f32.set(v, s / 4);
      k.exp_scores(s, len, 1.5, st);
      const mx = Math.max(...v.map((a) => a * 1.5));
      expect(f32[st / 4]).toBeCloseTo(mx, 4);
      const e = v.map((a) => Math.exp(a * 1.5 - mx));
      e.forEach((a, j) => expect(Math.abs(f32[s / 4 + j] - a)).toBeLessThan(2e-6));
      expect(f32[st / 4 + 1]).toBeCloseTo(e.reduce((a, b) => a + b, 0), 5);
    }
  });
});
