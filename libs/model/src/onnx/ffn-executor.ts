/*
 * OrtFfnExecutor: runs each layer's dense FFN as its own ONNX Runtime session, behind the same
 * MoeLayerRunner interface the segmented OrtBackend calls for MoE layers. With every layer
 * marked as a segment boundary (`splitAtEveryLayer`), a dense model runs as one session per
 * half-layer (2L + 1 runs per step): the benchmark's baseline for "few runs per step", and a
 * test of the segmented (Mixtral) path against the one-session graph on the same weights.
 *
 * Not a MoE implementation: no gating, no experts; see libs/moe for those.
 */
import { createOrtSession, OnnxGraphBuilder, ortTensor, outputF32, type OrtSession } from '@llm/tensor';
import { mlp } from './graph-layers';
import type { MoeLayerRunner } from './ort-backend';
import type { GraphSpec, GraphWeights } from './spec';

/** The spec with every layer treated as a segment boundary (its FFN runs outside the graph). */
export function splitAtEveryLayer(spec: GraphSpec): GraphSpec {
  return { ...spec, moeLayers: spec.moeLayers.map(() => true) };
}

/** ONNX bytes of layer l's dense FFN: x (T, C) -> ffn(x) (T, C). */
export function buildFfnGraph(spec: GraphSpec, weights: GraphWeights, l: number): Uint8Array {
  const w = weights.layers[l].mlp;
  if (!w) throw new Error(`buildFfnGraph: layers[${l}] has no dense FFN weights`);
  const g = new OnnxGraphBuilder({ name: `ffn_${l}`, microsoftDomain: true });
  const x = g.input('x', 'float32', ['T', spec.hiddenSize]);
  g.output(mlp(g, spec, x, w, `layers.${l}.mlp`), 'y', 'float32', ['T', spec.hiddenSize]);
  return g.toBytes();
}

export class OrtFfnExecutor implements MoeLayerRunner {
  private constructor(
    private readonly sessions: Map<number, OrtSession>,
    private readonly hiddenSize: number,
  ) {}

  /** One session per dense layer of `weights`. */
  static async create(spec: GraphSpec, weights: GraphWeights, opts: { threads: number }): Promise<OrtFfnExecutor> {
    const sessions = new Map<number, OrtSession>();
    for (let l = 0; l < spec.numLayers; l++) {
      if (weights.layers[l].mlp) sessions.set(l, await createOrtSession(buildFfnGraph(spec, weights, l), opts));
    }
    return new OrtFfnExecutor(sessions, spec.hiddenSize);
  }

  async run(layer: number, hidden: Float32Array, numTokens: number): Promise<Float32Array> {
    const session = this.sessions.get(layer);
    if (!session) throw new Error(`OrtFfnExecutor: layer ${layer} has no dense FFN session`);
    if (hidden.length !== numTokens * this.hiddenSize) {
      throw new Error(`OrtFfnExecutor: hidden has ${hidden.length} floats, expected ${numTokens}x${this.hiddenSize}`);
    }
    return outputF32(await session.run({ x: ortTensor(hidden, [numTokens, this.hiddenSize]) }), 'y');
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
  }
}
