/**
 * Builds the router's MoE layers from a model's config.json object and its weights (HF names,
 * f32, [out, in] layout — what libs/model's loadModelDir returns). Only the hosted experts'
 * matrices are taken; every missing or misshapen tensor is named.
 *
 * Not a file reader (main.ts loads the directory) and not the attention half of the model.
 */
import { toNBits, type QuantizedMatrix } from '@llm/model';
import { MoeLayer, moeShapeFromHfConfig, type ExpertBackend, type ExpertWeights, type MoeShape } from '@llm/moe';

export interface NamedWeight {
  shape: number[];
  data: Float32Array;
  /** Block-quantized weights (a quantized model directory or GGUF file): `data` is then lazy. */
  quant?: QuantizedMatrix;
}

export interface MoeBuildOptions {
  /** Expert ids this replica runs; default all. */
  hostedExperts?: number[];
  /** Per-expert capacity factor; undefined = dropless. */
  capacityFactor?: number;
  backend?: ExpertBackend;
}

export interface MoeModel {
  shape: MoeShape;
  /** MoE layer index -> layer (gate + hosted experts). */
  layers: Map<number, MoeLayer>;
}

const gateName = (l: number) => `model.layers.${l}.block_sparse_moe.gate.weight`;
const expertName = (l: number, e: number, w: 'w1' | 'w2' | 'w3') => `model.layers.${l}.block_sparse_moe.experts.${e}.${w}.weight`;

function take(weights: Readonly<Record<string, NamedWeight>>, name: string, shape: number[]): Float32Array {
  const w = weights[name];
  if (!w) throw new Error(`model weights have no ${name} (expected a Mixtral-style MoE checkpoint)`);
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`model weight ${name} has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return w.data;
}

/**
 * One expert's matrices. Quantized ones pass their blocks (MatMulNBits layout) and expose the
 * f32 values as lazy getters, read only if the JS reference backend runs them.
 */
function expertWeights(weights: Readonly<Record<string, NamedWeight>>, l: number, e: number, C: number, I: number): ExpertWeights {
  const names = { w1: expertName(l, e, 'w1'), w2: expertName(l, e, 'w2'), w3: expertName(l, e, 'w3') };
  const shapes = { w1: [I, C], w2: [C, I], w3: [I, C] };
  const quant = (['w1', 'w2', 'w3'] as const).map((k) => weights[names[k]]?.quant);
  if (quant.every((q) => q !== undefined) && quant[0]!.format === quant[2]!.format) { // w1 and w3 run as one stacked node
    const [q1, q2, q3] = quant as QuantizedMatrix[];
    const w = { quantized: { w1: toNBits(q1), w2: toNBits(q2), w3: toNBits(q3) } } as ExpertWeights;
    for (const k of ['w1', 'w2', 'w3'] as const) Object.defineProperty(w, k, { enumerable: true, get: () => take(weights, names[k], shapes[k]) });
    return w;
  }
  return { w1: take(weights, names.w1, shapes.w1), w2: take(weights, names.w2, shapes.w2), w3: take(weights, names.w3, shapes.w3) };
}

export function buildMoeModel(
  config: Record<string, unknown>,
  weights: Readonly<Record<string, NamedWeight>>,
  opts: MoeBuildOptions = {},
): MoeModel {
  const shape = moeShapeFromHfConfig(config);
  const { hiddenSize: C, intermediateSize: I, numExperts: E, topK } = shape;
  const numLayers = config.num_hidden_layers;
  if (typeof numLayers !== 'number' || !Number.isInteger(numLayers) || numLayers < 1) {
    throw new Error(`config.json num_hidden_layers must be a positive integer, got ${JSON.stringify(numLayers)}`);
  }
  const hosted = opts.hostedExperts ?? Array.from({ length: E }, (_, e) => e);
  const layers = new Map<number, MoeLayer>();
  for (let l = 0; l < numLayers; l++) {
    if (!weights[gateName(l)]) continue; // a dense layer
    const experts = new Map<number, ExpertWeights>();
    for (const e of hosted) experts.set(e, expertWeights(weights, l, e, C, I));
    layers.set(
      l,
      new MoeLayer({
        hiddenSize: C,
        intermediateSize: I,
        numExperts: E,
        topK,
        gating: shape.gating,
        router: take(weights, gateName(l), [E, C]),
        experts,
        hostedExperts: hosted,
        capacityFactor: opts.capacityFactor,
        backend: opts.backend,
      }),
    );
  }
  if (layers.size === 0) throw new Error(`model weights have no ${gateName(0)} (or any MoE layer); the router needs a MoE model`);
  return { shape, layers };
}
