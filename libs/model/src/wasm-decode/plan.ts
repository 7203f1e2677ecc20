/*
 * The wasm decoder's memory: which models it runs (`wasmDecodeUnsupported`), where every weight,
 * scratch buffer and control word lives (`planDecoderMemory`), and the weights repacked there four
 * output rows at a time, the layout the kernels in libs/tensor/src/wasm/kernels.wat read:
 *
 *   F32   group g (rows 4g..4g+3): for each 4-column chunk c, rows 0..3 x 4 floats (64 bytes)
 *   Q8_0  group g, block b: rows 0..3 x 32 int8 (128 bytes); scales f32 [g][b][row]
 *   Q4_0  group g, block b: rows 0..3 x 16 bytes of nibbles (64 bytes, in lane order: repackNibbles); scales as Q8_0
 *   Q4_0 for the int8 kernel (fmt 3, where relaxed SIMD runs): the same, each row's 16 bytes in ggml's own order
 *
 * so one step reads each matrix front to back as one stream. Rows past the matrix (padding to a
 * multiple of 4) are zero. Fused matrices: Q|K|V rows in one, gate|up rows in one.
 *
 * Not here: the step itself (worker-source.ts) or the threads (decoder.ts).
 */
import { f16BitsToF32 } from '../io/dtype';
import type { GraphLinear, GraphSpec, GraphWeights } from '../onnx/spec';
import { rowBytes } from '../quant/formats';

/**
 * Matrix formats as the kernels number them. q4_0_i8: Q4_0 in ggml's byte order for gemv_q4_i8
 * (libs/tensor/src/wasm/kernels-relaxed.wat), against int8 activations; the decoder plans it in
 * place of q4_0 where the engine runs relaxed SIMD.
 */
export const FMT = { f32: 0, q8_0: 1, q4_0: 2, q4_0_i8: 3 } as const;
type Fmt = (typeof FMT)[keyof typeof FMT];

/** One packed matrix: kernel format, weights (and scales) offsets, groups of 4 rows, columns. */
export interface PackedMatrix {
  fmt: Fmt;
  w: number;
  s: number;
  groups: number;
  cols: number;
}

export interface LayerPlan {
  attnNorm: number;
  mlpNorm: number;
  qkvBias: number; // 0: none
  qkv: PackedMatrix;
  o: PackedMatrix;
  gateUp: PackedMatrix;
  upRow: number; // first row of `up` in gateUp's output
  down: PackedMatrix;
}

/** Everything the threads need to know, as plain data (it is cloned to each thread). */
export interface DecoderPlan {
  threads: number;
  hidden: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  eps: number;
  invFreq: number[];
  maxContext: number;
  maxBlocks: number;
  ctl: number;
  /**
   * Scratch offsets. Shared: x (the token's embedding, written by the main thread), qkv, part,
   * stats, tmp, h (the products' outputs), logits, rows, work (one chunk counter per product of a
   * step). Per thread, at offset + t * stride[name]: res (the residual stream), xn (a product's f32
   * input), xq / xs / xsum (its quantized blocks; xq8 the same as int8), qrot, att, act (SiLU x up), scores: every thread
   * computes the small vector work between products itself, so only a product's output needs a
   * barrier.
   */
  scratch: Record<'x' | 'res' | 'xn' | 'xq' | 'xq8' | 'xs' | 'xsum' | 'qkv' | 'qrot' | 'att' | 'act' | 'part' | 'stats' | 'tmp' | 'h' | 'logits' | 'scores' | 'rows' | 'work', number>;
  stride: Record<'res' | 'xn' | 'xq' | 'xq8' | 'xs' | 'xsum' | 'qrot' | 'att' | 'act' | 'scores', number>;
  layers: LayerPlan[];
  finalNorm: number;
  lmHead: PackedMatrix;
  /** Bytes in use before the pool: the pool starts here (64-aligned). */
  end: number;
}

/** Matrix-vector products per layer (QKV, O, gate|up, down); each has its own chunk counter in scratch.work. */
export const PRODUCTS_PER_LAYER = 4;

/** The wasm memory's limit (4 GiB of 32-bit addresses) less room for the engine's own use. */
export const MAX_WASM_BYTES = 3.75 * 2 ** 30;

/** Why the decoder cannot run this model, or undefined when it can. */
export function wasmDecodeUnsupported(spec: GraphSpec, w: GraphWeights): string | undefined {
  if (spec.norm !== 'rms' || spec.positions !== 'rope' || !spec.mlpGated || spec.hiddenAct !== 'silu') return `architecture ${spec.arch} (needs RMSNorm, RoPE and a SiLU-gated MLP)`;
  if (spec.moeLayers.some((m) => m)) return 'mixture-of-experts layers';
  if (spec.headDim % 16 !== 0) return `head size ${spec.headDim} (needs a multiple of 16)`;
  const C = spec.hiddenSize, Q = spec.numHeads * spec.headDim, I = spec.intermediateSize;
  for (const [l, layer] of w.layers.entries()) {
    const mlp = layer.mlp;
    if (!mlp?.gate) return `layer ${l} has no gated MLP`;
    if (layer.o.bias || mlp.up.bias || mlp.gate.bias || mlp.down.bias || layer.attnNorm.bias || layer.mlpNorm.bias) return `layer ${l} has biases past Q/K/V`;
    const groups: Array<[string, GraphLinear[], number]> = [['q/k/v', [layer.q, layer.k, layer.v], C], ['o', [layer.o], Q], ['gate/up', [mlp.gate, mlp.up], C], ['down', [mlp.down], I]];
    for (const [name, parts, cols] of groups) {
      const fmts = new Set(parts.map(formatOf));
      if (fmts.size > 1) return `layer ${l} ${name} mixes weight formats`;
      if (cols % (parts[0].quant ? 32 : 8) !== 0) return `layer ${l} ${name} has ${cols} columns (needs a multiple of ${parts[0].quant ? 32 : 8})`;
    }
  }
  if (C % 32 !== 0) return `hidden size ${C} (needs a multiple of 32)`;
  return undefined;
}

function formatOf(lin: GraphLinear): Fmt {
  return lin.quant ? FMT[lin.quant.format] : FMT.f32;
}

function matrixBytes(fmt: number, rows: number, cols: number): { w: number; s: number } {
  const padded = Math.ceil(rows / 4) * 4;
  if (fmt === FMT.f32) return { w: padded * cols * 4, s: 0 };
  const blocks = (padded * cols) / 32;
  return { w: blocks * (fmt === FMT.q8_0 ? 32 : 16), s: blocks * 4 };
}

/**
 * Lays out the memory for a model (offsets only; `packWeights` fills it). `q4I8`: Q4_0 matrices in
 * the int8 kernel's layout (FMT.q4_0_i8), for an engine that runs relaxed SIMD.
 */
export function planDecoderMemory(spec: GraphSpec, w: GraphWeights, threads: number, q4I8 = false): DecoderPlan {
  const C = spec.hiddenSize, Q = spec.numHeads * spec.headDim, KV = spec.numKvHeads * spec.headDim, I = spec.intermediateSize, V = spec.vocabSize;
  let off = 64; // nothing at address 0
  const take = (bytes: number): number => {
    const at = off;
    off += Math.ceil(bytes / 64) * 64;
    return at;
  };
  const maxContext = spec.maxPositions;
  const ctl = take(4 * (8 + maxContext));
  const maxCols = Math.max(C, Q, I);
  const pad4 = (n: number) => Math.ceil(n / 4) * 4;
  const a64 = (bytes: number) => Math.ceil(bytes / 64) * 64;
  const stride = {
    res: a64(4 * C), xn: a64(4 * maxCols), xq: a64(2 * maxCols), xq8: a64(maxCols), xs: a64(maxCols / 8), xsum: a64(maxCols / 8),
    qrot: a64(4 * Q), att: a64(4 * Q), act: a64(4 * I), scores: a64(4 * maxContext),
  };
  const perThread = (name: keyof typeof stride) => take(threads * stride[name]);
  const scratch = {
    x: take(4 * C), res: perThread('res'), xn: perThread('xn'), xq: perThread('xq'), xq8: perThread('xq8'), xs: perThread('xs'), xsum: perThread('xsum'),
    qkv: take(4 * pad4(Q + 2 * KV)), qrot: perThread('qrot'), att: perThread('att'), act: perThread('act'), part: take(4 * threads * Q), stats: take(8 * threads * spec.numHeads), tmp: take(4 * pad4(C)), h: take(4 * pad4(2 * I)), logits: take(4 * pad4(V)),
    scores: perThread('scores'), rows: take(4 * maxContext), work: take(4 * (PRODUCTS_PER_LAYER * w.layers.length + 1)),
  };
  const matrix = (parts: GraphLinear[], rows: number, cols: number): PackedMatrix => {
    const f = formatOf(parts[0]);
    const fmt = f === FMT.q4_0 && q4I8 ? FMT.q4_0_i8 : f;
    const b = matrixBytes(fmt, rows, cols);
    return { fmt, w: take(b.w), s: b.s ? take(b.s) : 0, groups: Math.ceil(rows / 4), cols };
  };
  const layers = w.layers.map((layer): LayerPlan => {
    const mlp = layer.mlp!;
    return {
      attnNorm: take(4 * C),
      mlpNorm: take(4 * C),
      qkvBias: layer.q.bias || layer.k.bias || layer.v.bias ? take(4 * (Q + 2 * KV)) : 0,
      qkv: matrix([layer.q, layer.k, layer.v], Q + 2 * KV, C),
      o: matrix([layer.o], C, Q),
      gateUp: matrix([mlp.gate!, mlp.up], 2 * I, C),
      upRow: I,
      down: matrix([mlp.down], C, I),
    };
  });
  const finalNorm = take(4 * C);
  const head: GraphLinear = w.lmHeadQuant ? { quant: w.lmHeadQuant } : { weight: w.lmHead ?? w.embed };
  const lmHead = matrix([head], V, C);
  return {
    threads, hidden: C, numHeads: spec.numHeads, numKvHeads: spec.numKvHeads, headDim: spec.headDim, intermediate: I, vocab: V,
    eps: spec.normEps, invFreq: Array.from(spec.ropeInvFreq!), maxContext, maxBlocks: maxContext,
    ctl, scratch, stride, layers, finalNorm, lmHead, end: off,
  };
}

/** A source row of a fused matrix: f32 values, or one row of ggml blocks. */
type RowSource = { f32: Float32Array; at: number } | { blocks: Uint8Array; at: number };

function rowSources(parts: GraphLinear[], cols: number): RowSource[] {
  const out: RowSource[] = [];
  for (const p of parts) {
    if (p.quant) {
      const rb = rowBytes(p.quant.format, cols);
      for (let r = 0; r < p.quant.rows; r++) out.push({ blocks: p.quant.data, at: r * rb });
    } else {
      const rows = p.weight!.length / cols;
      for (let r = 0; r < rows; r++) out.push({ f32: p.weight!, at: r * cols });
    }
  }
  return out;
}

/** Writes one fused matrix into the memory in its packed layout (see the file comment). */
export function packMatrix(buf: ArrayBuffer | SharedArrayBuffer, m: PackedMatrix, parts: GraphLinear[]): void {
  const cols = m.cols;
  const src = rowSources(parts, cols);
  const f32 = new Float32Array(buf);
  const u8 = new Uint8Array(buf);
  const nb = cols / 32;
  const blockBytes = m.fmt === FMT.q8_0 ? 34 : 18;
  const qBytes = blockBytes - 2;
  for (let r = 0; r < src.length; r++) {
    const g = r >>> 2, rr = r & 3, row = src[r];
    if ('f32' in row) {
      const base = (m.w >>> 2) + g * 4 * cols + rr * 4;
      for (let c = 0; c < cols / 4; c++) for (let k = 0; k < 4; k++) f32[base + c * 16 + k] = row.f32[row.at + c * 4 + k];
    } else {
      for (let b = 0; b < nb; b++) {
        const s = row.at + b * blockBytes;
        f32[(m.s >>> 2) + (g * nb + b) * 4 + rr] = f16BitsToF32(row.blocks[s] | (row.blocks[s + 1] << 8));
        const dst = m.w + (g * nb + b) * 4 * qBytes + rr * qBytes;
        if (m.fmt !== FMT.q4_0) u8.set(row.blocks.subarray(s + 2, s + 2 + qBytes), dst);
        else repackNibbles(row.blocks, s + 2, u8, dst);
      }
    }
  }
}

/**
 * One Q4_0 block's 16 bytes from ggml's order (byte j: column j low, column j + 16 high) to the
 * kernel's: byte 2k holds columns k (low) and 8 + k, byte 2k + 1 columns 16 + k and 24 + k, so a
 * 16-bit lane's four nibbles are columns k, 8 + k, 16 + k, 24 + k.
 */
export function repackNibbles(src: Uint8Array, at: number, dst: Uint8Array, to: number): void {
  const nib = (e: number) => (e < 16 ? src[at + e] & 15 : src[at + e - 16] >> 4);
  for (let k = 0; k < 8; k++) {
    dst[to + 2 * k] = nib(k) | (nib(8 + k) << 4);
    dst[to + 2 * k + 1] = nib(16 + k) | (nib(24 + k) << 4);
  }
}

/** Norms, biases and every matrix of the model into the memory at the plan's offsets. */
export function packWeights(buf: ArrayBuffer | SharedArrayBuffer, plan: DecoderPlan, w: GraphWeights): void {
  const f32 = new Float32Array(buf);
  const put = (at: number, a: Float32Array) => f32.set(a, at >>> 2);
  w.layers.forEach((layer, l) => {
    const p = plan.layers[l];
    const mlp = layer.mlp!;
    put(p.attnNorm, layer.attnNorm.weight);
    put(p.mlpNorm, layer.mlpNorm.weight);
    if (p.qkvBias) {
      const Q = plan.numHeads * plan.headDim, KV = plan.numKvHeads * plan.headDim;
      const zero = (n: number) => new Float32Array(n);
      put(p.qkvBias, layer.q.bias ?? zero(Q));
      put(p.qkvBias + 4 * Q, layer.k.bias ?? zero(KV));
      put(p.qkvBias + 4 * (Q + KV), layer.v.bias ?? zero(KV));
    }
    packMatrix(buf, p.qkv, [layer.q, layer.k, layer.v]);
    packMatrix(buf, p.o, [layer.o]);
    packMatrix(buf, p.gateUp, [mlp.gate!, mlp.up]);
    packMatrix(buf, p.down, [mlp.down]);
  });
  put(plan.finalNorm, w.finalNorm.weight);
  packMatrix(buf, plan.lmHead, [w.lmHeadQuant ? { quant: w.lmHeadQuant } : { weight: w.lmHead ?? w.embed }]);
}
