/*
 * The decode step's thread code (run by every thread of a WasmDecoder, eval'd like the ONNX
 * Runtime thread's source, so it runs the same from the compiled library and under the tests).
 *
 * One step = one token of one sequence through every layer, on T threads that share the wasm
 * memory (weights, the resident K/V pool, scratch) and split each matrix-vector product by groups
 * of four rows; a spin barrier (Atomics on the control words) separates the phases. The small
 * vector work between products (RMSNorm, activation quantization, SiLU, residual adds) runs on
 * thread 0 while the others wait at the barrier; RoPE, the K/V write and attention split by head.
 *
 * Control words (Int32Array over the memory at plan.ctl): GO (step generation, workers wait on
 * it), DONE (generation finished, or -generation on failure), BAR (barrier arrivals this step),
 * POS, CTX (context length after the step), SLOT (pool slot of the new token), BLOCK (tokens per
 * block), SLOTS (slots per layer of the resident pool, which starts at plan.end: K then V of each
 * layer), and the block table from word TABLE on. The main thread writes the token's embedding
 * row into x first.
 */
export const DECODE_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { plan, mem, module: wasmModule, t } = workerData;
const T = plan.threads;
const K = new WebAssembly.Instance(wasmModule, { env: { mem } }).exports;
const GO = 0, DONE = 1, BAR = 2, POS = 3, CTX = 4, SLOT = 5, BLOCK = 6, SLOTS = 7, TABLE = 8;
let f32, i32, i16, ctl, viewsLen = -1;
function views() {
  if (mem.buffer.byteLength === viewsLen) return;
  viewsLen = mem.buffer.byteLength;
  f32 = new Float32Array(mem.buffer); i32 = new Int32Array(mem.buffer); i16 = new Int16Array(mem.buffer);
  ctl = new Int32Array(mem.buffer, plan.ctl, TABLE + plan.maxBlocks);
}
let phase = 0;
function barrier() {
  phase++;
  Atomics.add(ctl, BAR, 1);
  while (Atomics.load(ctl, BAR) < T * phase) if (Atomics.load(ctl, DONE) < 0) throw new Error('another decode thread failed');
}
const C = plan.hidden, NH = plan.numHeads, NKV = plan.numKvHeads, HS = plan.headDim, I = plan.intermediate;
const half = HS / 2, group = NH / NKV, Q = NH * HS, KV = NKV * HS;
const S = plan.scratch;
function rmsNorm(src, w, dst, n) {
  let ss = 0;
  for (let i = 0; i < n; i++) { const v = f32[src + i]; ss += v * v; }
  const r = 1 / Math.sqrt(ss / n + plan.eps);
  for (let i = 0; i < n; i++) f32[dst + i] = f32[src + i] * r * f32[w + i];
}
// y (rows of m) = m x for this thread's groups; x is f32 at xf for F32 matrices, else the quantized blocks.
function gemv(m, xf, y) {
  const g0 = Math.floor((m.groups * t) / T), g1 = Math.floor((m.groups * (t + 1)) / T);
  if (g0 === g1) return;
  if (m.fmt === 0) K.gemv_f32(m.w, xf, y, g0, g1, m.cols);
  else if (m.fmt === 1) K.gemv_q8(m.w, m.s, S.xq, S.xs, y, g0, g1, m.cols);
  else K.gemv_q4(m.w, m.s, S.xq, S.xsum, S.xs, y, g0, g1, m.cols);
}
// thread 0: normalise (or take) src into S.xn and quantize it for matrix m; then everyone meets.
function prepare(src, normW, n, m) {
  if (t === 0) {
    let x = src;
    if (normW) { rmsNorm(src >>> 2, normW >>> 2, S.xn >>> 2, n); x = S.xn; }
    if (m.fmt !== 0) K.quant_q8(x, n, S.xq, S.xs, S.xsum);
    else if (x !== S.xn) f32.copyWithin(S.xn >>> 2, x >>> 2, (x >>> 2) + n);
  }
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
function step() {
  views();
  phase = 0;
  const pos = ctl[POS], ctx = ctl[CTX], slot = ctl[SLOT], bs = ctl[BLOCK];
  const rows = S.rows >>> 2, slotBytes = KV * 4, layerBytes = ctl[SLOTS] * slotBytes;
  if (t === 0) for (let p = 0; p < ctx; p++) i32[rows + p] = (ctl[TABLE + Math.floor(p / bs)] * bs + (p % bs)) * slotBytes;
  const x = S.x >>> 2, qkv = S.qkv >>> 2, att = S.att >>> 2, tmp = S.tmp >>> 2, h = S.h >>> 2;
  const scores = (S.scores >>> 2) + t * plan.maxContext;
  const scale = 1 / Math.sqrt(HS);
  ropeTable(pos);
  for (let l = 0; l < plan.layers.length; l++) {
    const L = plan.layers[l];
    const kPool = plan.end + 2 * l * layerBytes, vPool = kPool + layerBytes;
    prepare(S.x, L.attnNorm, C, L.qkv);
    gemv(L.qkv, S.xn, S.qkv);
    barrier();
    // biases, RoPE and the new K/V into the pool, by head
    for (let hd = t; hd < NH; hd += T) {
      const o = qkv + hd * HS;
      if (L.qkvBias) for (let i = 0; i < HS; i++) f32[o + i] += f32[(L.qkvBias >>> 2) + hd * HS + i];
      rope(o);
    }
    for (let hd = t; hd < NKV; hd += T) {
      const ko = qkv + Q + hd * HS, vo = qkv + Q + KV + hd * HS;
      if (L.qkvBias) for (let i = 0; i < HS; i++) { f32[ko + i] += f32[(L.qkvBias >>> 2) + Q + hd * HS + i]; f32[vo + i] += f32[(L.qkvBias >>> 2) + Q + KV + hd * HS + i]; }
      rope(ko);
      const dst = ((kPool + slot * slotBytes) >>> 2) + hd * HS, dstV = ((vPool + slot * slotBytes) >>> 2) + hd * HS;
      f32.copyWithin(dst, ko, ko + HS);
      f32.copyWithin(dstV, vo, vo + HS);
    }
    barrier();
    // attention: scores over the sequence's rows, softmax, weighted sum of V, by query head
    for (let hd = t; hd < NH; hd += T) {
      const kvh = Math.floor(hd / group);
      K.dot_rows(S.qkv + hd * HS * 4, kPool + kvh * HS * 4, S.rows, ctx, HS, scores * 4);
      K.softmax(scores * 4, ctx, scale);
      K.axpy_rows(scores * 4, vPool + kvh * HS * 4, S.rows, ctx, HS, S.att + hd * HS * 4);
    }
    barrier();
    prepare(S.att, 0, Q, L.o);
    gemv(L.o, S.xn, S.tmp);
    barrier();
    if (t === 0) for (let i = 0; i < C; i++) f32[x + i] += f32[tmp + i];
    prepare(S.x, L.mlpNorm, C, L.gateUp);
    gemv(L.gateUp, S.xn, S.h);
    barrier();
    if (t === 0) K.silu_mul(S.h, L.upRow, I);
    prepare(S.h, 0, I, L.down);
    gemv(L.down, S.xn, S.tmp);
    barrier();
    if (t === 0) for (let i = 0; i < C; i++) f32[x + i] += f32[tmp + i];
  }
  prepare(S.x, plan.finalNorm, C, plan.lmHead);
  gemv(plan.lmHead, S.xn, S.logits);
  barrier();
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
