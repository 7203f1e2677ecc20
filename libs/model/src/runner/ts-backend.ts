/*
 * TsBackend: the step backend on the library's TypeScript kernels. One flattened token batch
 * (prefill chunks and decodes of many sequences) goes through every linear layer at once; per
 * layer the new K/V rows are written into the paged pool at their slots and paged flash
 * attention reads each sequence's context through its block table.
 *
 *   x = embed(ids) [+ wpe(pos)]                                   (N, C)
 *   per layer: h = norm1(x); q,k,v = h Wq,Wk,Wv [+b]; RoPE(q, k)    (N, NH*HS), (N, NKV*HS)
 *              pool[slot] <- k, v; a = pagedAttention(q, pool)      (N, NH*HS)
 *              x += a Wo [+b]; h = norm2(x); x += ffn(h) | moe(h)   (N, C)
 *   logits = lmHead(finalNorm(x[logitRows]))                        (R, V)
 *
 * Internals trace (extras.trace): the paged kernel's observer hands over the selected attention
 * rows as it computes them, and the MoE executor the routing of the traced rows.
 *
 * What this is not: fast. Plain JS matmuls reach ~1 GFLOP/s; this is the reference and the
 * tiny-model path. The fast path is OrtBackend (libs/model/src/onnx). Single-threaded.
 */
import {
  add,
  applyRope,
  embedding,
  gelu,
  layerNorm,
  linear,
  pagedAttention,
  rmsNorm,
  swiglu,
  writeKvSlots,
} from '@llm/tensor';
import type { TsDecoderLayerWeights, TsDecoderWeights, TsFfnWeights, TsLinearWeights, TsNormWeights } from './decoder-weights';
import { attentionObserver, moeRequest, recordMoe } from './forward-trace';
import type { ForwardTrace, MoeRoutingRequest } from './trace-types';
import type { FlatBatch, ForwardExtras, KvPool, StepBackend } from './types';

/** Runs one MoE layer: hidden (T, C) normed input -> (T, C) output without residual (and, asked, the routing of some rows). */
export interface MoeExecutor {
  run(layer: number, hidden: Float32Array, numTokens: number, trace?: MoeRoutingRequest): Promise<Float32Array>;
}

export class TsBackend implements StepBackend {
  readonly name = 'ts' as const;
  readonly traceable = true;

  constructor(
    readonly weights: TsDecoderWeights,
    private readonly moe?: MoeExecutor,
  ) {
    if (weights.layers.some((l) => l.ffn.kind === 'moe') && !moe) {
      throw new Error('TsBackend: the model has MoE layers but no MoE executor was given');
    }
  }

  async forward(batch: FlatBatch, pool: KvPool, extras?: ForwardExtras): Promise<Float32Array> {
    const w = this.weights;
    checkPool(w, pool);
    const N = batch.tokenIds.length;
    const { hiddenSize: C, numHeads: NH, numKvHeads: NKV, headDim: HS } = w;
    const x = new Float32Array(N * C); // the residual stream (N, C)
    embedding(x, w.embed, batch.tokenIds, w.vocabSize, C);
    if (w.positionEmbed) {
      for (let i = 0; i < N; i++) {
        const p = batch.positions[i];
        for (let c = 0; c < C; c++) x[i * C + c] += w.positionEmbed[p * C + c];
      }
    }
    const buf = {
      h: new Float32Array(N * C),
      q: new Float32Array(N * NH * HS),
      k: new Float32Array(N * NKV * HS),
      v: new Float32Array(N * NKV * HS),
      att: new Float32Array(N * NH * HS),
      o: new Float32Array(N * C),
    };
    const moeTrace = moeRequest(extras?.trace, batch);
    for (let l = 0; l < w.layers.length; l++) {
      this.attentionBlock(l, w.layers[l], x, buf, batch, pool, extras?.trace);
      await this.ffnBlock(l, w.layers[l], x, buf, N, moeTrace, extras?.trace);
    }
    return this.logits(x, batch.logitRows, extras);
  }

  async dispose(): Promise<void> {
    // Nothing native to free: the weights are plain typed arrays.
  }

  /** x += Wo . pagedAttention(RoPE(Wq h), pool <- (RoPE(Wk h), Wv h)),  h = norm1(x) */
  private attentionBlock(l: number, lw: TsDecoderLayerWeights, x: Float32Array, buf: Buffers, batch: FlatBatch, pool: KvPool, trace?: ForwardTrace): void {
    const w = this.weights;
    const N = batch.tokenIds.length;
    const { hiddenSize: C, numHeads: NH, numKvHeads: NKV, headDim: HS } = w;
    norm(buf.h, x, lw.attnNorm, N, C);
    project(buf.q, buf.h, lw.q, N, C, NH * HS); // (N, C) x (C, NH*HS) -> (N, NH*HS)
    project(buf.k, buf.h, lw.k, N, C, NKV * HS); // (N, C) x (C, NKV*HS) -> (N, NKV*HS)
    project(buf.v, buf.h, lw.v, N, C, NKV * HS);
    if (w.rope) {
      applyRope(buf.q, N, NH, HS, batch.positions, w.rope);
      applyRope(buf.k, N, NKV, HS, batch.positions, w.rope);
    }
    writeKvSlots(pool.k[l], pool.v[l], buf.k, buf.v, batch.slotMapping, NKV * HS);
    pagedAttention(buf.att, buf.q, pool.k[l], pool.v[l], batch.positions, batch.seqs, {
      numHeads: NH,
      numKvHeads: NKV,
      headDim: HS,
      blockSize: pool.blockSize,
    }, trace && attentionObserver(trace, batch.seqs, l));
    project(buf.o, buf.att, lw.o, N, NH * HS, C); // (N, NH*HS) x (NH*HS, C) -> (N, C)
    add(x, x, buf.o, N * C);
  }

  /** x += ffn(norm2(x)), the FFN dense (SwiGLU or GELU MLP) or an MoE layer through the executor */
  private async ffnBlock(l: number, lw: TsDecoderLayerWeights, x: Float32Array, buf: Buffers, N: number, moeTrace?: ReturnType<typeof moeRequest>, trace?: ForwardTrace): Promise<void> {
    const C = this.weights.hiddenSize;
    norm(buf.h, x, lw.mlpNorm, N, C);
    const asked = lw.ffn.kind === 'moe' && moeTrace ? { req: { rows: moeTrace.req.rows, out: [] }, owners: moeTrace.owners } : undefined;
    const y = lw.ffn.kind === 'moe' ? await (this.moe as MoeExecutor).run(l, buf.h, N, asked?.req) : denseFfn(lw.ffn, buf.h, N, C);
    if (asked) recordMoe(trace as ForwardTrace, l, asked);
    if (y.length < N * C) throw new Error(`layer ${l}: MoE executor returned ${y.length} floats (expected ${N * C})`);
    add(x, x, y, N * C);
  }

  /** logits (R, V) = lmHead(finalNorm(x[rows])) */
  private logits(x: Float32Array, rows: Int32Array, extras?: ForwardExtras): Float32Array {
    const { hiddenSize: C, vocabSize: V } = this.weights;
    const R = rows.length;
    const xr = new Float32Array(R * C);
    for (let r = 0; r < R; r++) xr.set(x.subarray(rows[r] * C, (rows[r] + 1) * C), r * C);
    norm(xr, xr, this.weights.finalNorm, R, C);
    if (extras) extras.hidden = Float32Array.from(xr); // (R, C)
    const out = new Float32Array(R * V);
    linear(out, xr, this.weights.lmHead, undefined, R, C, V); // (R, C) x (C, V) -> (R, V)
    return out;
  }
}

interface Buffers {
  h: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  att: Float32Array;
  o: Float32Array;
}

function norm(out: Float32Array, x: Float32Array, n: TsNormWeights, T: number, C: number): void {
  if (n.kind === 'rms') rmsNorm(out, x, n.weight, T, C, n.eps);
  else layerNorm(out, x, n.weight, n.bias as Float32Array, T, C, n.eps);
}

function project(out: Float32Array, x: Float32Array, lw: TsLinearWeights, M: number, K: number, N: number): void {
  linear(out, x, lw.weight, lw.bias, M, K, N);
}

/** SwiGLU: down(silu(gate h) * up h); GELU MLP: proj(gelu(fc h + b)) + b */
function denseFfn(ffn: Exclude<TsFfnWeights, { kind: 'moe' }>, h: Float32Array, N: number, C: number): Float32Array {
  const I = ffn.intermediate;
  const out = new Float32Array(N * C);
  if (ffn.kind === 'swiglu') {
    const g = new Float32Array(N * I);
    const u = new Float32Array(N * I);
    project(g, h, ffn.gate, N, C, I); // (N, C) -> (N, I)
    project(u, h, ffn.up, N, C, I);
    swiglu(g, g, u, N * I);
    project(out, g, ffn.down, N, I, C); // (N, I) -> (N, C)
  } else {
    const a = new Float32Array(N * I);
    project(a, h, ffn.fc, N, C, I);
    gelu(a, a, N * I, ffn.approximate);
    project(out, a, ffn.proj, N, I, C);
  }
  return out;
}

function checkPool(w: TsDecoderWeights, pool: KvPool): void {
  if (pool.numLayers !== w.layers.length || pool.numKvHeads !== w.numKvHeads || pool.headDim !== w.headDim) {
    throw new Error(
      `KV pool shape (L ${pool.numLayers}, NKV ${pool.numKvHeads}, HS ${pool.headDim}) does not match the model ` +
        `(L ${w.layers.length}, NKV ${w.numKvHeads}, HS ${w.headDim})`,
    );
  }
}
