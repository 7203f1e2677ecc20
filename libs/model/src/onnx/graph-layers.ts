/*
 * The decoder's layers as ONNX nodes: norms (RMSNorm / LayerNorm, fused with the residual add),
 * the attention block over the paged KV pool, and the dense FFN (gated like SwiGLU, or plain
 * like GPT-2; silu, gelu_tanh or exact gelu). Each function appends nodes to an
 * OnnxGraphBuilder and returns value names.
 *
 * Not a general exporter: shapes and names follow the step inputs declared in step-io.ts.
 * Weights stay in torch Linear layout (out, in) and run through Gemm with transB = 1, which
 * ORT prepacks once at session creation; quantized weights run through the spec's QuantKernel.
 * References: Llama / Qwen2 / GPT-2 modeling code in Hugging Face transformers (RMSNorm,
 * rotate-half RoPE, repeat_kv GQA where q head h uses kv head floor(h / G)); ORT contrib ops
 * SkipSimplifiedLayerNormalization, SkipLayerNormalization, RotaryEmbedding, FusedMatMul,
 * QuickGelu, FastGelu and Gelu (onnxruntime docs/ContribOperators.md).
 */
import { dynamicInt8MatMul, floatAttr, matMulNBits, type OnnxGraphBuilder } from '@llm/tensor';
import { concatInt8Rows, concatNBits, toInt8Rows, toNBits } from '../quant/ort-pack';
import { dequantizeMatrix, type QuantizedMatrix } from '../quant/quantized-matrix';
import { DEFAULT_QUANT_KERNEL, type GraphSpec, type GraphLayerWeights, type GraphLinear, type GraphMlp, type GraphNorm, type QuantKernel } from './spec';
import { STEP } from './step-io';

const MS = 'com.microsoft';

/** W's f32 values: the array itself, or the exact values of its blocks. */
function f32Of(w: GraphLinear): Float32Array {
  if (w.weight) return w.weight;
  if (w.quant) return dequantizeMatrix(w.quant);
  throw new Error('linear layer has neither f32 nor quantized weights');
}

/**
 * Stacks (out_i, in) matrices into one (sum out_i, in), each block times scales[i]; biases
 * likewise (a missing bias counts as zeros when another block has one). Quantized blocks
 * contribute their exact values.
 */
export function concatRows(parts: GraphLinear[], scales: number[], inFeatures: number): GraphLinear {
  const mats = parts.map(f32Of);
  const outs = mats.map((m) => m.length / inFeatures);
  const totalOut = outs.reduce((a, b) => a + b, 0);
  const weight = new Float32Array(totalOut * inFeatures);
  let row = 0;
  mats.forEach((m, i) => {
    const off = row * inFeatures;
    for (let j = 0; j < m.length; j++) weight[off + j] = m[j] * scales[i];
    row += outs[i];
  });
  return { weight, bias: concatBias(parts, outs, scales) };
}

function concatBias(parts: GraphLinear[], outs: number[], scales: number[]): Float32Array | undefined {
  if (!parts.some((p) => p.bias)) return undefined;
  const bias = new Float32Array(outs.reduce((a, b) => a + b, 0));
  let row = 0;
  parts.forEach((p, i) => {
    if (p.bias) for (let j = 0; j < outs[i]; j++) bias[row + j] = p.bias[j] * scales[i];
    row += outs[i];
  });
  return bias;
}

/** y (rows, out) = x (rows, in) W^T + b, W given (out, in), f32 or quantized (run by `kernel`). */
export function linear(g: OnnxGraphBuilder, x: string, w: GraphLinear, name: string, inFeatures: number, kernel?: QuantKernel): string {
  if (w.quant) return quantizedLinear(g, x, [w], [1], name, kernel ?? DEFAULT_QUANT_KERNEL, inFeatures);
  const weight = f32Of(w);
  const outFeatures = weight.length / inFeatures;
  const inputs = [x, g.initializer(`${name}.weight`, weight, [outFeatures, inFeatures])];
  if (w.bias) inputs.push(g.initializer(`${name}.bias`, w.bias, [outFeatures]));
  return g.op('Gemm', inputs, { transB: 1 });
}

/** Fused linear over several (out_i, in) blocks sharing the input; scales multiply each block. */
export function fusedLinear(
  g: OnnxGraphBuilder,
  x: string,
  parts: GraphLinear[],
  scales: number[],
  name: string,
  inFeatures: number,
  kernel?: QuantKernel,
): string {
  if (parts.every((p) => p.quant)) return quantizedLinear(g, x, parts, scales, name, kernel ?? DEFAULT_QUANT_KERNEL, inFeatures);
  return linear(g, x, concatRows(parts, scales, inFeatures), name, inFeatures);
}

/** Quantized blocks stacked by rows, run by the kernel (see QuantKernel in spec.ts); bias added after. */
function quantizedLinear(g: OnnxGraphBuilder, x: string, parts: GraphLinear[], scales: number[], name: string, kernel: QuantKernel, inFeatures: number): string {
  if (kernel.kind === 'dequantized') return linear(g, x, concatRows(parts, scales, inFeatures), name, inFeatures);
  const qs = parts.map((p) => p.quant as QuantizedMatrix);
  if (kernel.kind === 'nbits' && qs.some((q) => q.format !== qs[0].format)) {
    // blocks of different widths (a GGUF file may mix Q8_0 and Q4_0): one node each, outputs side by side
    const ys = parts.map((p, i) => quantizedLinear(g, x, [p], [scales[i]], `${name}.${i}`, kernel, inFeatures));
    return g.op('Concat', ys, { axis: -1 });
  }
  const y =
    kernel.kind === 'nbits'
      ? matMulNBits(g, x, concatNBits(qs.map((q, i) => toNBits(q, scales[i]))), name, kernel.accuracyLevel)
      : dynamicInt8MatMul(g, x, concatInt8Rows(qs.map((q, i) => toInt8Rows(q, scales[i]))), name);
  const bias = concatBias(parts, qs.map((q) => q.rows), scales);
  return bias ? g.op('Add', [y, g.initializer(`${name}.bias`, bias, [bias.length])]) : y;
}

/** n = norm(x) with the model's norm; names its weights under `name`. */
export function norm(g: OnnxGraphBuilder, spec: GraphSpec, x: string, w: GraphNorm, name: string): string {
  const gamma = g.initializer(`${name}.weight`, w.weight, [spec.hiddenSize]);
  if (spec.norm === 'rms') {
    // x / sqrt(mean(x^2) + eps) * gamma
    return g.op('SimplifiedLayerNormalization', [x, gamma], { axis: -1, epsilon: spec.normEps, stash_type: 1 });
  }
  const beta = g.initializer(`${name}.bias`, w.bias as Float32Array, [spec.hiddenSize]);
  // (x - mean) / sqrt(var + eps) * gamma + beta
  return g.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: spec.normEps });
}

/**
 * x' = x + delta; n = norm(x'). Returns [n, x'] with one fused contrib node
 * (SkipSimplifiedLayerNormalization / SkipLayerNormalization, output 3 = input + skip).
 */
export function addNorm(
  g: OnnxGraphBuilder,
  spec: GraphSpec,
  x: string,
  delta: string,
  w: GraphNorm,
  name: string,
): [string, string] {
  const gamma = g.initializer(`${name}.weight`, w.weight, [spec.hiddenSize]);
  const [n, , , sum] =
    spec.norm === 'rms'
      ? g.node('SkipSimplifiedLayerNormalization', [delta, x, gamma], 4, { epsilon: spec.normEps }, MS)
      : g.node(
          'SkipLayerNormalization',
          [delta, x, gamma, g.initializer(`${name}.bias`, w.bias as Float32Array, [spec.hiddenSize])],
          4,
          { epsilon: spec.normEps },
          MS,
        );
  return [n, sum];
}

/** act(x) as one contrib node: silu = QuickGelu(alpha 1), gelu_tanh = FastGelu, gelu = Gelu (erf). */
function activation(g: OnnxGraphBuilder, spec: GraphSpec, x: string): string {
  // silu(x) = x * sigmoid(x)
  if (spec.hiddenAct === 'silu') return g.op('QuickGelu', [x], { alpha: floatAttr(1) }, MS);
  // gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  if (spec.hiddenAct === 'gelu_tanh') return g.op('FastGelu', [x], {}, MS);
  return g.op('Gelu', [x], {}, MS); // 0.5 x (1 + erf(x / sqrt(2)))
}

/**
 * Dense FFN on (N, C): gated down(act(gate x) * up x), or down(act(up x)). Gate and up stay two
 * Gemms: a fused (C, 2I) Gemm would need a Split that copies (N, 2I) once more.
 */
export function mlp(g: OnnxGraphBuilder, spec: GraphSpec, x: string, w: GraphMlp, name: string): string {
  const C = spec.hiddenSize;
  const I = spec.intermediateSize;
  const k = spec.quantKernel;
  const up = linear(g, x, w.up, `${name}.up`, C, k); // (N, I)
  if (!spec.mlpGated) return linear(g, activation(g, spec, up), w.down, `${name}.down`, I, k);
  const gate = linear(g, x, w.gate as GraphLinear, `${name}.gate`, C, k); // (N, I)
  return linear(g, g.op('Mul', [activation(g, spec, gate), up]), w.down, `${name}.down`, I, k); // (N, I) -> (N, C)
}

/** Which KV values one layer's attention produced: padded (S, Tmax, NKV*HS), for the step's outputs. */
export interface AttentionResult {
  out: string; // (N, C) attention block output (after o_proj), to add to the residual
  kNew: string; // (S, Tmax, NKV*HS) after RoPE
  vNew: string; // (S, Tmax, NKV*HS)
  probs: string; // (S, NKV, G*Tmax, Pmax+Tmax) softmax weights (the internals trace may output them)
}

/** Per-graph values every layer's attention shares (computed once). */
export interface AttentionShared {
  /** (1) int64: Pmax, where the cached columns of the scores end. */
  pastLen: string;
}

/** Computes the shared values from the step inputs (Pmax = dim 2 of past_rows). */
export function attentionShared(g: OnnxGraphBuilder): AttentionShared {
  const shape = g.op('Shape', [STEP.pastRows]); // (S, NKV, Pmax)
  return { pastLen: g.op('Slice', [shape, g.constInt64([2]), g.constInt64([3])]) };
}

/**
 * Causal GQA attention of one layer over the pool's cached K/V plus this step's new K/V, in a
 * padded per-sequence layout: S sequences, Tmax new rows each, Pmax cached positions each.
 *   qkv (N, (NH+2NKV)HS) --gather pad_rows--> (S, Tmax, .) --split, RoPE--> q, k, v
 *   cached K, V: pool rows (slot*NKV + h) gathered straight into (S, NKV, Pmax, HS), no transpose
 *   scores = [Q Kc^T | Q Kn^T] + mask -> softmax -> P;   ctx = P[:, :Pmax] Vc + P[:, Pmax:] Vn
 * Cached and new keys meet in the (small) scores, never in a concatenated copy of K or V.
 * Q is (S, NKV, G*Tmax, HS): GQA by reshaping Q, not by repeating K/V. The 1/sqrt(HS) scale is
 * folded into Wq (RoPE is linear, so it commutes).
 */
export function attention(
  g: OnnxGraphBuilder,
  spec: GraphSpec,
  shared: AttentionShared,
  n: string,
  w: GraphLayerWeights,
  l: number,
): AttentionResult {
  const { hiddenSize: C, numHeads: NH, numKvHeads: NKV, headDim: HS } = spec;
  const G = NH / NKV;
  const scale = 1 / Math.sqrt(HS);
  const qkv = fusedLinear(g, n, [w.q, w.k, w.v], [scale, 1, 1], `layers.${l}.qkv`, C, spec.quantKernel); // (N, (NH+2NKV)HS)
  const padded = g.op('Gather', [qkv, STEP.padRows], { axis: 0 }); // (S, Tmax, (NH+2NKV)HS)
  const [q0, k0, v] = g.node('Split', [padded, g.constInt64([NH * HS, NKV * HS, NKV * HS])], 3, { axis: 2 });
  // RoPE, rotate-half: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin), angle = pos * inv_freq[i]
  const rope = (x: string, heads: number) =>
    spec.positions !== 'rope'
      ? x
      : g.op('RotaryEmbedding', [x, STEP.padPos, STEP.ropeCos, STEP.ropeSin], { interleaved: 0, num_heads: heads }, MS);
  const q = rope(q0, NH); // (S, Tmax, NH*HS)
  const k = rope(k0, NKV); // (S, Tmax, NKV*HS)
  // Q: (S, Tmax, NKV, G, HS) -> (S, NKV, G, Tmax, HS) -> (S, NKV, G*Tmax, HS)
  const q5 = g.op('Reshape', [q, g.constInt64([0, 0, NKV, G, HS])]);
  const qT = g.op('Reshape', [g.op('Transpose', [q5], { perm: [0, 2, 3, 1, 4] }), g.constInt64([0, 0, -1, HS])]);
  // new K, V: (S, Tmax, NKV, HS) -> (S, NKV, Tmax, HS)
  const kvShape = g.constInt64([0, 0, NKV, HS]);
  const heads = (x: string) => g.op('Transpose', [g.op('Reshape', [x, kvShape])], { perm: [0, 2, 1, 3] });
  const kNew = heads(k);
  const vNew = heads(v);
  // cached K, V: pool viewed as (slots*NKV, HS), rows gathered by past_rows (S, NKV, Pmax) -> (S, NKV, Pmax, HS)
  const kPast = g.op('Gather', [STEP.kPool(l), STEP.pastRows], { axis: 0 });
  const vPast = g.op('Gather', [STEP.vPool(l), STEP.pastRows], { axis: 0 });
  // scores (S, NKV, G*Tmax, Pmax + Tmax) = Q [Kc | Kn]^T + mask
  const qk = (kx: string) => g.op('FusedMatMul', [qT, kx], { transB: 1, alpha: floatAttr(1) }, MS);
  const scores = g.op('Add', [g.op('Concat', [qk(kPast), qk(kNew)], { axis: 3 }), STEP.attnMask]);
  const probs = g.op('Softmax', [scores], { axis: -1 });
  const axis3 = g.constInt64([3]);
  const pPast = g.op('Slice', [probs, g.constInt64([0]), shared.pastLen, axis3]); // (S, NKV, G*Tmax, Pmax)
  const pNew = g.op('Slice', [probs, shared.pastLen, g.constInt64([2 ** 53 - 1]), axis3]); // (S, NKV, G*Tmax, Tmax)
  const ctx = g.op('Add', [g.op('MatMul', [pPast, vPast]), g.op('MatMul', [pNew, vNew])]); // (S, NKV, G*Tmax, HS)
  // (S, NKV, G, Tmax, HS) -> (S, Tmax, NKV, G, HS) -> (S*Tmax, C) -> gather the real rows (N, C)
  const ctx5 = g.op('Reshape', [ctx, g.constInt64([0, 0, G, -1, HS])]);
  const rows = g.op('Reshape', [g.op('Transpose', [ctx5], { perm: [0, 3, 1, 2, 4] }), g.constInt64([-1, NH * HS])]);
  const flat = g.op('Gather', [rows, STEP.unpadRows], { axis: 0 }); // (N, NH*HS)
  return { out: linear(g, flat, w.o, `layers.${l}.o`, NH * HS, spec.quantKernel), kNew: k, vNew: v, probs };
}
