/*
 * Whether this engine can run the relaxed-SIMD kernels (kernels-relaxed.wat), and their compiled
 * module when it can.
 *
 * Engines that ship relaxed SIMD (V8 11.4 and later: Node 22+) validate the module as it is.
 * Node 20's V8 has the feature behind --experimental-wasm-relaxed-simd; `relaxedKernels` sets that
 * flag (node:v8) when the module does not validate, unless told not to. Either way the module is
 * used only after a check of its sums: an instance computes a small product whose exact integer
 * result is known here (scales of 1, so the floats are whole numbers well inside 2^24), with every
 * weight nibble 0..15 and activations down to -127 and up to 127, and `narrow_q8` a known copy. An
 * engine whose int8 dot product gives other sums (Node 20's `i32x4` variant of it does: it doubles
 * the products and loses the addend, which is why the kernels use only the `i16x8` one) fails the
 * check, and the decoder keeps the portable kernels. The check runs once per process.
 *
 * Not here: the kernels themselves, or the choice of layout (libs/model/src/wasm-decode/plan.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { KERNELS_RELAXED_WASM_BASE64 } from './kernels-relaxed-wasm';

/** The slice of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: RelaxedExports };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The relaxed module's exports (see kernels-relaxed.wat). */
export interface RelaxedExports {
  gemv_q4_i8(w: number, s: number, xq: number, xsum: number, xs: number, y: number, g0: number, g1: number, cols: number): void;
  narrow_q8(src: number, n: number, dst: number): void;
}

export interface RelaxedKernels {
  /** The compiled module (import env.mem: a shared memory), or undefined when it cannot be used. */
  module: object | undefined;
  /** How it was enabled, or why not: for logs and the bench. */
  status: string;
}

let cached: RelaxedKernels | undefined;

/**
 * The relaxed-SIMD module when this engine runs it with the sums the specification defines.
 * `allowFlag: false` never sets a V8 flag (the module is then used only where the engine ships it).
 */
export function relaxedKernels(opts: { allowFlag?: boolean } = {}): RelaxedKernels {
  if (cached) return cached;
  const bytes = Buffer.from(KERNELS_RELAXED_WASM_BASE64, 'base64');
  let how = 'shipped by the engine';
  if (!Wasm.validate(bytes)) {
    if (opts.allowFlag === false) return { module: undefined, status: 'the engine lacks relaxed SIMD' };
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // an engine without the flag: validate says so below
    }
    if (!Wasm.validate(bytes)) return (cached = { module: undefined, status: 'the engine lacks relaxed SIMD' });
    how = 'enabled by --experimental-wasm-relaxed-simd';
  }
  const module = new Wasm.Module(bytes);
  const wrong = checkSums(module);
  cached = wrong ? { module: undefined, status: `relaxed SIMD gives other sums (${wrong}); portable kernels` } : { module, status: `relaxed SIMD ${how}` };
  return cached;
}

/** Runs the module on known inputs; returns what differs, or undefined when all agree. */
export function checkSums(module: object): string | undefined {
  const mem = new Wasm.Memory({ initial: 1, maximum: 1, shared: true });
  const k = new Wasm.Instance(module, { env: { mem } }).exports;
  const cols = 64, nb = cols / 32; // one group of four rows, two blocks
  const W = 64, S = W + 4 * nb * 16, X16 = S + 4 * nb * 4, XQ = X16 + 2 * cols, XSUM = XQ + cols, XS = XSUM + 4 * nb, Y = XS + 4 * nb;
  const u8 = new Uint8Array(mem.buffer), i8 = new Int8Array(mem.buffer), i16 = new Int16Array(mem.buffer), i32 = new Int32Array(mem.buffer), f32 = new Float32Array(mem.buffer);
  // weights: nibble n of row r, column c (0..15, every value; row 3 all 15s against the extremes)
  const nib = (r: number, c: number) => (r === 3 ? 15 : (c * 7 + r * 5 + (c >> 4)) & 15);
  // activations: -127 and 127 first, then a spread over the range
  const act = (c: number) => (c === 0 ? -127 : c === 1 ? 127 : ((c * 37) % 255) - 127);
  for (let c = 0; c < cols; c++) i16[X16 / 2 + c] = act(c);
  k.narrow_q8(X16, cols, XQ);
  for (let c = 0; c < cols; c++) if (i8[XQ + c] !== act(c)) return `narrow_q8 column ${c}: ${i8[XQ + c]}, expected ${act(c)}`;
  for (let b = 0; b < nb; b++) {
    let sum = 0;
    for (let j = 0; j < 32; j++) sum += act(b * 32 + j);
    i32[XSUM / 4 + b] = sum;
    f32[XS / 4 + b] = 1;
    for (let r = 0; r < 4; r++) {
      f32[S / 4 + b * 4 + r] = 1;
      for (let j = 0; j < 16; j++) u8[W + b * 64 + r * 16 + j] = nib(r, b * 32 + j) | (nib(r, b * 32 + 16 + j) << 4);
    }
  }
  k.gemv_q4_i8(W, S, XQ, XSUM, XS, Y, 0, 1, cols);
  for (let r = 0; r < 4; r++) {
    let want = 0;
    for (let c = 0; c < cols; c++) want += (nib(r, c) - 8) * act(c);
    if (f32[Y / 4 + r] !== want) return `gemv_q4_i8 row ${r}: ${f32[Y / 4 + r]}, expected ${want}`;
  }
  return undefined;
}
