/*
 * GraphSpec / GraphWeights: the plain description of a decoder-only transformer that the
 * ONNX graph builder consumes (sizes, norms, positional scheme, which layers are MoE, and f32
 * weights in Hugging Face Linear layout (out, in)). `decoderFromLoaded` (from-loaded.ts) fills
 * it from a LoadedModel; benchmarks fill it with random weights directly.
 *
 * Deliberately not a config parser (loadModelDir reads config.json) and not a weight
 * store: it only points at arrays owned elsewhere.
 * Follows the Hugging Face modeling code of LlamaForCausalLM, Qwen2ForCausalLM,
 * MixtralForCausalLM and GPT2LMHeadModel for what each field means.
 */
import type { Arch } from '../config';
import type { QuantizedMatrix } from '../quant/quantized-matrix';

/**
 * A linear layer y = x W^T + b, W stored (out, in) row-major as in torch.nn.Linear: either f32
 * (`weight`) or block-quantized (`quant`, ggml Q8_0 / Q4_0 along `in`), never both.
 */
export interface GraphLinear {
  weight?: Float32Array; // (out, in)
  quant?: QuantizedMatrix; // (out, in) in blocks
  bias?: Float32Array; // (out)
}

/**
 * How linear layers with quantized weights run (f32 layers always run as Gemm):
 *   nbits         com.microsoft MatMulNBits on the blocks as they are (bits 8 or 4, block 32);
 *                 accuracyLevel 0 computes in f32, 4 quantizes activations to int8 per block
 *   int8-dynamic  the weights requantized to int8 per output row; DynamicQuantizeLinear +
 *                 MatMulInteger (activations quantized per tensor at run time)
 *   dequantized   f32 Gemm over the blocks' exact values (the reference; f32 speed and memory)
 */
export type QuantKernel = { kind: 'nbits'; accuracyLevel: 0 | 1 | 2 | 3 | 4 } | { kind: 'int8-dynamic' } | { kind: 'dequantized' };

/** The default: see libs/model/bench/quant.ts for the measurements behind it. */
export const DEFAULT_QUANT_KERNEL: QuantKernel = { kind: 'nbits', accuracyLevel: 4 };

/** RMSNorm (weight only) or LayerNorm (weight and bias). */
export interface GraphNorm {
  weight: Float32Array; // (C)
  bias?: Float32Array; // (C), LayerNorm only
}

/** A dense feed-forward block: gated down(act(gate x) * up x), or down(act(up x)) (gpt2 c_fc, c_proj). */
export interface GraphMlp {
  gate?: GraphLinear; // (I, C), gated MLPs only
  up: GraphLinear; // (I, C)
  down: GraphLinear; // (C, I)
}

export interface GraphLayerWeights {
  attnNorm: GraphNorm;
  q: GraphLinear; // (NH*HS, C)
  k: GraphLinear; // (NKV*HS, C)
  v: GraphLinear; // (NKV*HS, C)
  o: GraphLinear; // (C, NH*HS)
  mlpNorm: GraphNorm;
  /** Absent on MoE layers: their FFN runs through a MoeLayerExecutor, outside the graph. */
  mlp?: GraphMlp;
}

export interface GraphWeights {
  embed: Float32Array; // (V, C) token embeddings
  posEmbed?: Float32Array; // (maxPositions, C) learned positions (gpt2)
  layers: GraphLayerWeights[]; // L
  finalNorm: GraphNorm;
  lmHead?: Float32Array; // (V, C); absent when tied to embed or quantized
  /** The LM head in blocks (tied or not); the embedding lookup still reads `embed` (f32). */
  lmHeadQuant?: QuantizedMatrix; // (V, C)
}

export interface GraphSpec {
  arch: Arch;
  hiddenSize: number; // C
  numLayers: number; // L
  numHeads: number; // NH
  numKvHeads: number; // NKV
  headDim: number; // HS
  intermediateSize: number; // I (dense FFN)
  vocabSize: number; // V
  normEps: number;
  /** 'rms' for llama/qwen2/mixtral, 'layer' (LayerNorm with bias) for gpt2. */
  norm: 'rms' | 'layer';
  /** 'rope' (rotate-half, HF non-interleaved) or 'learned' (gpt2 position embeddings). */
  positions: 'rope' | 'learned';
  /** RoPE inverse frequencies (HS/2) in float32 like HF: inv_freq[i] = 1 / theta^(2i/HS), after any scaling. */
  ropeInvFreq?: Float32Array;
  maxPositions: number;
  /** Gated MLP (llama family: act(gate x) * up x) or plain (gpt2: act(up x)). */
  mlpGated: boolean;
  /** silu, gelu_tanh (gelu_new / gelu_pytorch_tanh) or gelu (exact erf). */
  hiddenAct: 'silu' | 'gelu_tanh' | 'gelu';
  /** Per layer: true when the FFN is a MoE block run by the executor. */
  moeLayers: boolean[];
  /** Kernel of the quantized linear layers (default DEFAULT_QUANT_KERNEL). */
  quantKernel?: QuantKernel;
}

function expectLength(what: string, a: Float32Array | undefined, n: number): void {
  if (!a) throw new Error(`decoder weights: ${what} is missing (expected ${n} floats)`);
  if (a.length !== n) throw new Error(`decoder weights: ${what} has ${a.length} floats, expected ${n}`);
}

function checkLinear(what: string, w: GraphLinear, out: number, inp: number, bias: boolean): void {
  if (w.quant) {
    if (w.weight) throw new Error(`decoder weights: ${what} has both f32 and quantized weights (expected one)`);
    if (w.quant.rows !== out || w.quant.cols !== inp) throw new Error(`decoder weights: ${what} is quantized (${w.quant.rows}, ${w.quant.cols}), expected (${out}, ${inp})`);
  } else expectLength(`${what}.weight (${out}x${inp})`, w.weight, out * inp);
  if (bias || w.bias) expectLength(`${what}.bias`, w.bias, out);
}

/** Throws a clear error naming the first weight whose size disagrees with the spec. */
export function validateDecoder(spec: GraphSpec, w: GraphWeights): void {
  const { hiddenSize: C, numHeads: NH, numKvHeads: NKV, headDim: HS, intermediateSize: I, vocabSize: V } = spec;
  if (NH % NKV !== 0) throw new Error(`decoder spec: numHeads ${NH} is not a multiple of numKvHeads ${NKV}`);
  if (spec.positions === 'rope' && (!spec.ropeInvFreq || spec.ropeInvFreq.length !== HS / 2)) {
    throw new Error(`decoder spec: rope models need ropeInvFreq of length headDim/2 = ${HS / 2}`);
  }
  if (w.layers.length !== spec.numLayers || spec.moeLayers.length !== spec.numLayers) {
    throw new Error(`decoder weights: ${w.layers.length} layers and ${spec.moeLayers.length} MoE flags, expected ${spec.numLayers}`);
  }
  expectLength('embed', w.embed, V * C);
  if (spec.positions === 'learned') expectLength('posEmbed', w.posEmbed, spec.maxPositions * C);
  if (w.lmHead) expectLength('lmHead', w.lmHead, V * C);
  if (w.lmHeadQuant) checkLinear('lmHeadQuant', { quant: w.lmHeadQuant }, V, C, false);
  const ln = spec.norm === 'layer';
  expectLength('finalNorm.weight', w.finalNorm.weight, C);
  if (ln) expectLength('finalNorm.bias', w.finalNorm.bias, C);
  w.layers.forEach((layer, l) => {
    const p = `layers[${l}]`;
    expectLength(`${p}.attnNorm.weight`, layer.attnNorm.weight, C);
    expectLength(`${p}.mlpNorm.weight`, layer.mlpNorm.weight, C);
    if (ln) expectLength(`${p}.attnNorm.bias`, layer.attnNorm.bias, C);
    if (ln) expectLength(`${p}.mlpNorm.bias`, layer.mlpNorm.bias, C);
    checkLinear(`${p}.q`, layer.q, NH * HS, C, false);
    checkLinear(`${p}.k`, layer.k, NKV * HS, C, false);
    checkLinear(`${p}.v`, layer.v, NKV * HS, C, false);
    checkLinear(`${p}.o`, layer.o, C, NH * HS, false);
    if (spec.moeLayers[l]) return;
    if (!layer.mlp) throw new Error(`decoder weights: ${p}.mlp is missing on a dense layer`);
    if (spec.mlpGated) checkLinear(`${p}.mlp.gate`, layer.mlp.gate ?? {}, I, C, false);
    checkLinear(`${p}.mlp.up`, layer.mlp.up, I, C, false);
    checkLinear(`${p}.mlp.down`, layer.mlp.down, C, I, false);
  });
}
