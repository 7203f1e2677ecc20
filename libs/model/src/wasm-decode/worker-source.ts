/*
 * The decode step's thread code (run by every thread of a WasmDecoder, eval'd like the ONNX
 * Runtime thread's source, so it runs the same from the compiled library and under the tests).
 *
 * One step = one token of one sequence through every layer, on T threads that share the wasm
 * memory (weights, the resident K/V pool, scratch) and split each matrix-vector product by groups
 * of four rows; a barrier (Atomics on the control words: a short spin, then a sleep on the word)
 * follows each product and the attention, five a layer. The small vector work between products
 * (RMSNorm, residual adds, activation quantization, SiLU, combining attention's parts) every
 * thread computes itself into its own buffers, from the same inputs and in the same order, so no
 * thread waits on another for it; attention splits by positions (each thread a range of every
 * head), each thread rotating the queries itself and the last one, whose range ends at the new
 * token, writing its K/V first.
 *
 * Control words (Int32Array over the memory at plan.ctl): GO (step generation, workers wait on
 * it), DONE (generation finished, or -generation on failure), BAR (barrier arrivals, counting up),
 * POS, CTX (context length after the step), SLOT (pool slot of the new token), BLOCK (tokens per
 * block), SLOTS (slots per layer of the resident pool, which starts at plan.end: K then V of each
 * layer), and the block table from word TABLE on. Before each step the main thread writes the
 * token's embedding row into x and zeroes the products' chunk counters (scratch.work).
 */
import { PRODUCTS_PER_LAYER } from './plan';

export const DECODE_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { plan, mem, module: wasmModule, relaxed, t } = workerData;
const T = plan.threads;
const K = new WebAssembly.Instance(wasmModule, { env: { mem } }).exports;
// the relaxed-SIMD kernels (Q4_0 on the int8 dot product), where the plan has matrices for them
const KR = relaxed ? new WebAssembly.Instance(relaxed, { env: { mem } }).exports : undefined;
const GO = 0, DONE = 1, BAR = 2, POS = 3, CTX = 4, SLOT = 5, BLOCK = 6, SLOTS = 7, TABLE = 8;
let f32, i32, i16, ctl, work, viewsLen = -1;
function views() {
  if (mem.buffer.byteLength === viewsLen) return;
  viewsLen = mem.buffer.byteLength;
  f32 = new Float32Array(mem.buffer); i32 = new Int32Array(mem.buffer); i16 = new Int16Array(mem.buffer);
  ctl = new Int32Array(mem.buffer, plan.ctl, TABLE + plan.maxBlocks);
  work = new Int32Array(mem.buffer, plan.scratch.work, plan.layers.length * ${PRODUCTS_PER_LAYER} + 1);
}
// Arrivals count up across steps and never reset (a reset by the main thread could land before a
// thread that arrived last step saw the count complete): each barrier's target is T more than the
// last, compared with 32-bit wrap-around. A barrier spins while the others are about to arrive
// (most waits are a few microseconds), then sleeps on the word: a spinning thread on a machine with
// no core to spare would hold off the one it waits for.
let target = 0;
const SPIN = 20000;
function barrier() {
  target = (target + T) | 0;
  if ((((Atomics.add(ctl, BAR, 1) + 1) | 0) - target | 0) === 0) { Atomics.notify(ctl, BAR); return; }
  for (let i = 0; i < SPIN; i++) if (((Atomics.load(ctl, BAR) - target) | 0) >= 0) return;
  for (;;) {
    const v = Atomics.load(ctl, BAR);
    if (((v - target) | 0) >= 0) return;
    if (Atomics.load(ctl, DONE) < 0) throw new Error('another decode thread failed');
    Atomics.wait(ctl, BAR, v, 5);
  }
}
const C = plan.hidden, NH = plan.numHeads, NKV = plan.numKvHeads, HS = plan.headDim, I = plan.intermediate;
const half = HS / 2, group = NH / NKV, Q = NH * HS, KV = NKV * HS;
const S = plan.scratch;
// this thread's own buffers (byte offsets): every thread computes the vector work between the
// products itself, from the same inputs, so the threads only meet after each product
const mine = (name) => S[name] + t * plan.stride[name];
const RES = mine('res'), XN = mine('xn'), XQ = mine('xq'), XQ8 = mine('xq8'), XS = mine('xs'), XSUM = mine('xsum'), QROT = mine('qrot'), ATT = mine('att'), ACT = mine('act'), SCORES = mine('scores');
// y (rows of m) = m x over groups of four rows, handed out in chunks (a sixteenth of the matrix
// for two threads) from the product's own counter (scratch.work[k], zeroed by the main thread
// before the step): a thread that falls behind, or that the OS takes off its core for a while,
// takes fewer, and the others finish its share (a static split would wait for it at the
// barrier); x is this thread's input: f32 at xf for an F32 matrix, else its quantized blocks
function gemv(k, m, xf, y) {
  const chunk = Math.max(1, Math.ceil(m.groups / (8 * T)));
  for (;;) {
    const g0 = Atomics.add(work, k, 1) * chunk;
    if (g0 >= m.groups) return;
    const g1 = Math.min(m.groups, g0 + chunk);
    if (m.fmt === 0) K.gemv_f32(m.w, xf, y, g0, g1, m.cols);
    else if (m.fmt === 1) K.gemv_q8(m.w, m.s, XQ, XS, y, g0, g1, m.cols);
    else if (m.fmt === 2) K.gemv_q4(m.w, m.s, XQ, XSUM, XS, y, g0, g1, m.cols);
    else KR.gemv_q4_i8(m.w, m.s, XQ8, XSUM, XS, y, g0, g1, m.cols);
  }
}
// product k: y = m x (x: n floats at src, or RMSNorm(res += add) with weights normW), quantized
// first for a block format; then everyone meets, so y is whole for what follows
function project(k, src, add, normW, n, m, y) {
  let x = src;
  if (normW) { K.add_rmsnorm(RES, add, normW, XN, n, plan.eps); x = XN; }
  if (m.fmt !== 0) K.quant_q8(x, n, XQ, XS, XSUM);
  if (m.fmt === 3) KR.narrow_q8(XQ, n, XQ8);
  gemv(k, m, x, y);
  barrier();
}
const cos = new Float32Array(half), sin = new Float32Array(half);
function ropeTable(pos) {
  for (let i = 0; i < half; i++) {
    const a = Math.fround(pos * plan.invFreq[i]);
    cos[i] = Math.cos(a);
    sin[i] = Math.sin(a);
  }
}
function rope(off) {
  for (let i = 0; i < half; i++) {
    const c = cos[i], s = sin[i];
    const x1 = f32[off + i], x2 = f32[off + half + i];
    f32[off + i] = x1 * c - x2 * s;
    f32[off + half + i] = x2 * c + x1 * s;
  }
}
// this thread's att (head after head) = the parts' outputs, each weighted e^(m_part - M), over the weighted sums
function combine() {
  const att = ATT >>> 2, part = S.part >>> 2, st = S.stats >>> 2;
  for (let hd = 0; hd < NH; hd++) {
    let M = -Infinity;
    for (let p = 0; p < T; p++) if (f32[st + (p * NH + hd) * 2 + 1] > 0) M = Math.max(M, f32[st + (p * NH + hd) * 2]);
    let den = 0;
    const o = att + hd * HS;
    for (let i = 0; i < HS; i++) f32[o + i] = 0;
    for (let p = 0; p < T; p++) {
      const s = st + (p * NH + hd) * 2;
      if (!(f32[s + 1] > 0)) continue; // an empty part
      const w = Math.exp(f32[s] - M), src = part + (p * NH + hd) * HS;
      den += w * f32[s + 1];
      for (let i = 0; i < HS; i++) f32[o + i] += w * f32[src + i];
    }
    const inv = 1 / den;
    for (let i = 0; i < HS; i++) f32[o + i] *= inv;
  }
}
function step() {
  views();
  const pos = ctl[POS], ctx = ctl[CTX], slot = ctl[SLOT], bs = ctl[BLOCK];
  const rows = S.rows >>> 2, slotBytes = KV * 4, layerBytes = ctl[SLOTS] * slotBytes;
  const j0 = Math.floor((ctx * t) / T), n = Math.floor((ctx * (t + 1)) / T) - j0;
  // each thread the rows of its own positions
  for (let p = j0; p < j0 + n; p++) i32[rows + p] = (ctl[TABLE + Math.floor(p / bs)] * bs + (p % bs)) * slotBytes;
  const qkv = S.qkv >>> 2;
  const scores = SCORES >>> 2;
  const scale = 1 / Math.sqrt(HS);
  ropeTable(pos);
  f32.copyWithin(RES >>> 2, S.x >>> 2, (S.x >>> 2) + C);
  let k = 0;
  for (let l = 0; l < plan.layers.length; l++) {
    const L = plan.layers[l];
    const kPool = plan.end + 2 * l * layerBytes, vPool = kPool + layerBytes;
    project(k++, 0, l > 0 ? S.tmp : 0, L.attnNorm, C, L.qkv, S.qkv); // the last layer's down projection joins res here
    // every thread: biases and RoPE of every query head, into its own buffer; the last thread, whose
    // positions hold the new token, also K's and writes the new K/V into the pool; so attention
    // starts without waiting for the other threads
    const qr = QROT >>> 2, bias = L.qkvBias >>> 2;
    for (let hd = 0; hd < NH; hd++) {
      const src = qkv + hd * HS, o = qr + hd * HS;
      if (bias) for (let i = 0; i < HS; i++) f32[o + i] = f32[src + i] + f32[bias + hd * HS + i];
      else f32.copyWithin(o, src, src + HS);
      rope(o);
    }
    if (t === T - 1) {
      for (let hd = 0; hd < NKV; hd++) {
        const ko = qkv + Q + hd * HS, vo = qkv + Q + KV + hd * HS;
        if (bias) for (let i = 0; i < HS; i++) { f32[ko + i] += f32[bias + Q + hd * HS + i]; f32[vo + i] += f32[bias + Q + KV + hd * HS + i]; }
        rope(ko);
        const dst = ((kPool + slot * slotBytes) >>> 2) + hd * HS, dstV = ((vPool + slot * slotBytes) >>> 2) + hd * HS;
        f32.copyWithin(dst, ko, ko + HS);
        f32.copyWithin(dstV, vo, vo + HS);
      }
    }
    // attention, split by positions (flash-decoding): thread t takes positions [j0, j1) of every
    // query head, leaving its unnormalised output and (max, sum) for every thread to combine
    for (let hd = 0; hd < NH; hd++) {
      const kvh = Math.floor(hd / group), part = S.part + (t * NH + hd) * HS * 4, st = S.stats + (t * NH + hd) * 8;
      if (n > 0) K.dot_rows((qr + hd * HS) * 4, kPool + kvh * HS * 4, S.rows + 4 * j0, n, HS, scores * 4);
      K.exp_scores(scores * 4, n, scale, st);
      if (n > 0) K.axpy_rows(scores * 4, vPool + kvh * HS * 4, S.rows + 4 * j0, n, HS, part);
    }
    barrier();
    combine();
    project(k++, ATT, 0, 0, Q, L.o, S.tmp);
    project(k++, 0, S.tmp, L.mlpNorm, C, L.gateUp, S.h);
    K.silu_mul(S.h, L.upRow, I, ACT);
    project(k++, ACT, 0, 0, I, L.down, S.tmp);
  }
  project(k, 0, S.tmp, plan.finalNorm, C, plan.lmHead, S.logits);
}
let gen = 0;
parentPort.postMessage({ ready: true });
for (;;) {
  views();
  Atomics.wait(ctl, GO, gen);
  gen = Atomics.load(ctl, GO);
  if (gen < 0) break; // closed
  try {
    step();
    if (t === 0) { Atomics.store(ctl, DONE, gen); Atomics.notify(ctl, DONE); }
  } catch (e) {
    Atomics.store(ctl, DONE, -gen); Atomics.notify(ctl, DONE);
    parentPort.postMessage({ error: String((e && e.stack) || e) });
    break;
  }
}
`;
