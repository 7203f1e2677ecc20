/*
 * decoderFromLoaded: a LoadedModel (the library's internal weight naming, f32, Linear layout
 * [out, in], GPT-2's Conv1D already transposed by the loader) as the GraphSpec /
 * GraphWeights pair the ONNX graph builder takes. Arrays are shared, not copied.
 *
 * Not a loader and not a validator of checkpoint files: loadModelDir does that; here only the
 * sizes the graph depends on are checked (validateDecoder).
 * Names follow libs/model/src/weights/names.ts.
 */
import { ropeInvFreq } from '@llm/tensor';
import type { ModelConfig } from '../config';
import type { QuantizedMatrix } from '../quant/quantized-matrix';
import { getWeight, layerPrefix, type ModelWeights, type Weight } from '../weights';
import type { GraphSpec, GraphWeights, GraphLayerWeights, GraphLinear, GraphNorm } from './spec';

/** What the ORT backend needs of a model: a LoadedModel or initRandomModel's result. */
export interface ModelSource {
  config: ModelConfig;
  weights: ModelWeights;
}

function opt(w: ModelWeights, name: string): Float32Array | undefined {
  return w[name]?.data;
}

/** f32 layers share the model's array; quantized ones pass their blocks (never dequantized here). */
function linearOf(w: ModelWeights, name: string, out: number, inp: number): GraphLinear {
  const t = w[`${name}.weight`];
  if (t?.quant) return { quant: checkedQuant(t, `${name}.weight`, out, inp), bias: opt(w, `${name}.bias`) };
  return { weight: getWeight(w, `${name}.weight`, [out, inp]), bias: opt(w, `${name}.bias`) };
}

function checkedQuant(t: Weight, name: string, out: number, inp: number): QuantizedMatrix {
  const q = t.quant as QuantizedMatrix;
  if (q.rows !== out || q.cols !== inp) throw new Error(`weight "${name}" has shape [${q.rows}, ${q.cols}], expected [${out}, ${inp}]`);
  return q;
}

function normOf(w: ModelWeights, name: string, C: number): GraphNorm {
  return { weight: getWeight(w, `${name}.weight`, [C]), bias: opt(w, `${name}.bias`) };
}

/** The spec (sizes, norm, positions, activation, MoE layers) of a normalised config. */
export function specFromConfig(c: ModelConfig): GraphSpec {
  if (c.slidingWindow !== null && c.slidingWindow < c.maxPositions) {
    throw new Error(`ORT backend: sliding-window attention (${c.slidingWindow} < ${c.maxPositions} positions) is not supported`);
  }
  return {
    arch: c.arch,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    intermediateSize: c.intermediateSize,
    vocabSize: c.vocabSize,
    normEps: c.normEps,
    norm: c.normType,
    positions: c.positionEmbedding,
    ropeInvFreq: c.positionEmbedding === 'rope' ? ropeInvFreq(c.headDim, c.ropeTheta, c.ropeScaling ?? undefined) : undefined,
    maxPositions: c.maxPositions,
    mlpGated: c.mlpGated,
    hiddenAct: c.hiddenAct,
    moeLayers: Array.from({ length: c.numLayers }, () => c.numExperts > 0),
  };
}

function layerOf(c: ModelConfig, w: ModelWeights, l: number): GraphLayerWeights {
  const p = layerPrefix(l);
  const C = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const moe = c.numExperts > 0;
  return {
    attnNorm: normOf(w, `${p}.input_layernorm`, C),
    q: linearOf(w, `${p}.self_attn.q_proj`, q, C),
    k: linearOf(w, `${p}.self_attn.k_proj`, kv, C),
    v: linearOf(w, `${p}.self_attn.v_proj`, kv, C),
    o: linearOf(w, `${p}.self_attn.o_proj`, C, q),
    mlpNorm: normOf(w, `${p}.post_attention_layernorm`, C),
    mlp: moe
      ? undefined
      : {
          gate: c.mlpGated ? linearOf(w, `${p}.mlp.gate_proj`, I, C) : undefined,
          up: linearOf(w, `${p}.mlp.up_proj`, I, C),
          down: linearOf(w, `${p}.mlp.down_proj`, C, I),
        },
  };
}

/**
 * Spec and weights of a model, sharing its arrays; lm_head is omitted when tied to the
 * embedding. A quantized head passes its blocks; the embedding lookup reads f32 rows (a
 * quantized tied matrix is dequantized once for it).
 */
export function decoderFromLoaded(model: ModelSource): { spec: GraphSpec; weights: GraphWeights } {
  const c = model.config;
  const w = model.weights;
  const C = c.hiddenSize;
  const head = w['lm_head.weight'];
  const lmHeadQuant = head?.quant ? checkedQuant(head, 'lm_head.weight', c.vocabSize, C) : undefined;
  const embed = getWeight(w, 'model.embed_tokens.weight', [c.vocabSize, C]);
  const lmHead = lmHeadQuant ? undefined : getWeight(w, 'lm_head.weight', [c.vocabSize, C]);
  const weights: GraphWeights = {
    embed,
    posEmbed: c.positionEmbedding === 'learned' ? getWeight(w, 'model.embed_positions.weight', [c.maxPositions, C]) : undefined,
    layers: Array.from({ length: c.numLayers }, (_, l) => layerOf(c, w, l)),
    finalNorm: normOf(w, 'model.norm', C),
    lmHead: lmHead === embed ? undefined : lmHead,
    lmHeadQuant,
  };
  return { spec: specFromConfig(c), weights };
}
