/*
 * The relaxed-SIMD kernels (kernels-relaxed.wat) against a hand-worked example, plain loops over
 * the integer weights and activations, and the portable gemv_q4 (the same floats, bit for bit);
 * and the check that keeps them off an engine whose int8 dot product gives other sums, shown on
 * modules assembled here with a deliberate fault.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../random';
import { KERNELS_WASM_BASE64 } from './kernels-wasm';
import { checkSums, relaxedKernels, type RelaxedExports } from './relaxed';

interface Portable {
  gemv_q4(w: number, s: number, xq: number, xsum: number, xs: number, y: number, g0: number, g1: number, cols: number): void;
  quant_q8(src: number, n: number, xq: number, xs: number, xsum: number): void;
}
const W = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: SharedArrayBuffer }; Instance: new (m: object, i: object) => { exports: unknown }; Module: new (b: Uint8Array) => object } }).WebAssembly;

function setup() {
  const { module, status } = relaxedKernels();
  if (!module) throw new Error(`relaxed SIMD unavailable here: ${status}`);
  const mem = new W.Memory({ initial: 64, maximum: 65536, shared: true });
  const r = new W.Instance(module, { env: { mem } }).exports as RelaxedExports;
  const p = new W.Instance(new W.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')), { env: { mem } }).exports as Portable;
  let off = 64;
  const alloc = (bytes: number) => {
    const at = off;
    off += Math.ceil(bytes / 64) * 64;
    return at;
  };
  return { r, p, alloc, f32: new Float32Array(mem.buffer), i32: new Int32Array(mem.buffer), i16: new Int16Array(mem.buffer), u8: new Uint8Array(mem.buffer), i8: new Int8Array(mem.buffer) };
}

const rng = createRng(11);
const randInt = (lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));

describe('relaxed-SIMD kernels', () => {
  it('this engine runs them (Node 20 behind the V8 flag the loader sets, later engines as shipped), and they pass their check', () => {
    const k = relaxedKernels();
    expect(k.status).toMatch(/^relaxed SIMD (shipped by the engine|enabled by --experimental-wasm-relaxed-simd)$/);
    expect(k.module).toBeDefined();
    expect(checkSums(k.module!)).toBeUndefined();
  });

  it('gemv_q4_i8: a hand-worked 4 x 32 example', () => {
    const { r, alloc, f32, i32, u8, i8 } = setup();
    // x[j] = j - 16; weights (w = nibble - 8): row 0 all +1; row 1 -8 at column 0, else 0;
    // row 2 +7 at column 31, else 0; row 3 +1 on columns 0..15, -1 on 16..31
    const wv = [(_c: number) => 1, (c: number) => (c === 0 ? -8 : 0), (c: number) => (c === 31 ? 7 : 0), (c: number) => (c < 16 ? 1 : -1)];
    // dots: sum(j - 16) = 496 - 512 = -16; -8 * -16 = 128; 7 * 15 = 105; (120 - 256) - (376 - 256) = -256
    const w = alloc(64), s = alloc(16), xq = alloc(32), xsum = alloc(4), xs = alloc(4), y = alloc(16);
    for (let row = 0; row < 4; row++) {
      f32[s / 4 + row] = 0.5;
      for (let j = 0; j < 16; j++) u8[w + row * 16 + j] = (wv[row](j) + 8) | ((wv[row](16 + j) + 8) << 4);
    }
    for (let j = 0; j < 32; j++) i8[xq + j] = j - 16;
    i32[xsum / 4] = -16;
    f32[xs / 4] = 2; // 0.5 * 2 = 1: y is the dot itself
    r.gemv_q4_i8(w, s, xq, xsum, xs, y, 0, 1, 32);
    expect(Array.from(f32.subarray(y / 4, y / 4 + 4))).toEqual([-16, 128, 105, -256]);
  });

  it('narrow_q8 + gemv_q4_i8 equal the loop over the integers and the portable gemv_q4 bit for bit (extremes included)', () => {
    const { r, p, alloc, f32, i8, i16, u8 } = setup();
    const rows = 12, cols = 128, nb = cols / 32;
    const q = Int8Array.from({ length: rows * cols }, (_, i) => (i % 97 === 0 ? -8 : i % 89 === 0 ? 7 : randInt(-8, 7)));
    const d = Float32Array.from({ length: rows * nb }, () => rng.next() * 0.1);
    const wI8 = alloc(rows * cols / 2), wLanes = alloc(rows * cols / 2), s = alloc(rows * nb * 4), yA = alloc(rows * 4), yB = alloc(rows * 4);
    const nib = (row: number, c: number) => q[row * cols + c] + 8;
    for (let row = 0; row < rows; row++) {
      const g = row >> 2, rr = row & 3;
      for (let b = 0; b < nb; b++) {
        f32[s / 4 + (g * nb + b) * 4 + rr] = d[row * nb + b];
        const at = (g * nb + b) * 64 + rr * 16, c0 = b * 32;
        for (let j = 0; j < 16; j++) u8[wI8 + at + j] = nib(row, c0 + j) | (nib(row, c0 + 16 + j) << 4); // ggml's order
        for (let kk = 0; kk < 8; kk++) {
          u8[wLanes + at + 2 * kk] = nib(row, c0 + kk) | (nib(row, c0 + 8 + kk) << 4); // the portable kernel's
          u8[wLanes + at + 2 * kk + 1] = nib(row, c0 + 16 + kk) | (nib(row, c0 + 24 + kk) << 4);
        }
      }
    }
    // activations: block 0 reaches +127 and -127 (amax at both signs), the rest random
    const xv = Float32Array.from({ length: cols }, (_, i) => (i === 3 ? 2 : i === 5 ? -2 : rng.next() * 2 - 1));
    const src = alloc(cols * 4), xq = alloc(cols * 2), xq8 = alloc(cols), xs = alloc(nb * 4), xsum = alloc(nb * 4);
    f32.set(xv, src / 4);
    p.quant_q8(src, cols, xq, xs, xsum);
    r.narrow_q8(xq, cols, xq8);
    expect(Array.from(i8.subarray(xq8, xq8 + cols))).toEqual(Array.from(i16.subarray(xq / 2, xq / 2 + cols)));
    expect([i8[xq8 + 3], i8[xq8 + 5]]).toEqual([127, -127]);
    r.gemv_q4_i8(wI8, s, xq8, xsum, xs, yA, 0, 1, cols); // two calls, as two threads split the groups
    r.gemv_q4_i8(wI8, s, xq8, xsum, xs, yA, 1, 3, cols);
    p.gemv_q4(wLanes, s, xq, xsum, xs, yB, 0, 3, cols);
    expect(Array.from(f32.subarray(yA / 4, yA / 4 + rows))).toEqual(Array.from(f32.subarray(yB / 4, yB / 4 + rows)));
    for (let row = 0; row < rows; row++) {
      let want = 0;
      for (let b = 0; b < nb; b++) {
        let dot = 0;
        for (let j = 0; j < 32; j++) dot += q[row * cols + b * 32 + j] * i8[xq8 + b * 32 + j];
        want += d[row * nb + b] * f32[xs / 4 + b] * dot;
      }
      expect(Math.abs(f32[yA / 4 + row] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    }
  });

  it('the check refuses a module whose sums differ (faults assembled here: a subtracted half, an unsigned narrow)', async () => {
    const wabt = await (await import('wabt')).default();
    const text = readFileSync(join(__dirname, 'kernels-relaxed.wat'), 'utf8');
    const features = { simd: true, threads: true, relaxed_simd: true };
    const faulty = (from: string, to: string) => {
      expect(text).toContain(from);
      const mod = wabt.parseWat('faulty.wat', text.replace(from, to), features);
      return new W.Module(mod.toBinary({}).buffer);
    };
    relaxedKernels(); // the engine flag, where one is needed
    expect(checkSums(faulty('(i16x8.add', '(i16x8.sub'))).toMatch(/^gemv_q4_i8 row 0: .*, expected -?\d+$/);
    expect(checkSums(faulty('i8x16.narrow_i16x8_s', 'i8x16.narrow_i16x8_u'))).toBe('narrow_q8 column 0: 0, expected -127');
  });
});
