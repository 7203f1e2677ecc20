/*
 * The decoder as the TS backend consumes it: one architecture-neutral record of weights per
 * layer (norms, Q/K/V/O projections with optional biases, a SwiGLU, GELU or MoE feed-forward),
 * so llama, qwen2, mixtral and gpt2 share one forward loop.
 *
 * What this is not: a loader. The arrays come from libs/model's loader (`loadModelDir`) already in
 * f32 and in nn.Linear layout [out, in] (GPT-2's Conv1D transposed); see ./ts-decoder.ts.
 */
import type { RopeTables } from '@llm/tensor';

export interface TsNormWeights {
  kind: 'rms' | 'layer';
  weight: Float32Array; // (C)
  bias?: Float32Array; // (C), LayerNorm only
  eps: number;
}

export interface TsLinearWeights {
  weight: Float32Array; // (out, in)
  bias?: Float32Array; // (out)
}

export type TsFfnWeights =
  | { kind: 'swiglu'; intermediate: number; gate: TsLinearWeights; up: TsLinearWeights; down: TsLinearWeights }
  | { kind: 'gelu'; intermediate: number; approximate: 'tanh' | 'none'; fc: TsLinearWeights; proj: TsLinearWeights }
  | { kind: 'moe' }; // run by the injected MoeLayerExecutor on the normed hidden states

export interface TsDecoderLayerWeights {
  attnNorm: TsNormWeights;
  q: TsLinearWeights; // (NH*HS, C)
  k: TsLinearWeights; // (NKV*HS, C)
  v: TsLinearWeights; // (NKV*HS, C)
  o: TsLinearWeights; // (C, NH*HS)
  mlpNorm: TsNormWeights;
  ffn: TsFfnWeights;
}

export interface TsDecoderWeights {
  vocabSize: number; // V
  hiddenSize: number; // C
  numHeads: number; // NH
  numKvHeads: number; // NKV
  headDim: number; // HS
  maxPositions: number;
  embed: Float32Array; // (V, C)
  positionEmbed?: Float32Array; // (maxPositions, C), learned positions (gpt2)
  rope?: RopeTables; // rotary positions (llama, qwen2, mixtral)
  layers: TsDecoderLayerWeights[]; // L
  finalNorm: TsNormWeights;
  lmHead: Float32Array; // (V, C); the embedding itself when tied
}
