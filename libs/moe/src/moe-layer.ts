/**
 * `MoeLayer`: one sparse MoE block held in process — its gate and the experts it hosts —
 * built from plain weight arrays (no file IO), plus `inProcessMoeExecutor` and
 * `localReplica` that assemble layers into a model-wide executor or an expert replica.
 *
 *   y = sum_{j < k} w_j(x) * expert_{e_j(x)}(x)    (Mixtral eq. 1; HF MixtralSparseMoeBlock)
 *
 * Not here: the residual add and the pre-MoE norm (libs/model), transport (apps/router).
 */
import { checkFinite, check } from './errors';
import { ExpertHost, type ExpertHostOptions } from './expert-host';
import { MoeExecutor } from './executor';
import { MoeGate, type MoeGateOptions } from './gate';
import { LocalExpertReplica, type ExpertReplica } from './replica';

export type MoeLayerOptions = MoeGateOptions & Omit<ExpertHostOptions, 'numExperts' | 'hiddenSize' | 'field'>;

export class MoeLayer {
  readonly gate: MoeGate;
  readonly host: ExpertHost;

  constructor(opts: MoeLayerOptions) {
    this.gate = new MoeGate(opts);
    this.host = new ExpertHost({ ...opts, numExperts: opts.numExperts, hiddenSize: opts.hiddenSize });
  }

  /** (T, C) -> (T, C) with every expert local; throws if a routed expert is not hosted. */
  async forward(hidden: Float32Array, numTokens: number): Promise<Float32Array> {
    const C = this.gate.hiddenSize;
    check(hidden.length === numTokens * C, 'hidden', () =>
      `hidden has ${hidden.length} values, expected numTokens=${numTokens} x hiddenSize=${C} = ${numTokens * C}`);
    checkFinite(hidden, numTokens, C, 'hidden');
    const { plan } = this.gate.route(hidden, numTokens);
    return this.host.run(hidden, numTokens, plan.topK, plan.keptIds, plan.weights);
  }

  async dispose(): Promise<void> {
    await this.host.dispose();
  }
}

/** The replica formed by the experts these layers host (all layers must host the same ids). */
export function localReplica(layers: ReadonlyMap<number, MoeLayer>): LocalExpertReplica {
  return new LocalExpertReplica(new Map([...layers].map(([l, layer]) => [l, layer.host])));
}

/**
 * A model-wide executor over these layers' gates; experts run on `replicas`, by default the
 * layers' own experts in this process.
 */
export function inProcessMoeExecutor(
  layers: ReadonlyMap<number, MoeLayer>,
  opts: { replicas?: readonly ExpertReplica[]; auxLossCoef?: number } = {},
): MoeExecutor {
  return new MoeExecutor({
    gates: new Map([...layers].map(([l, layer]) => [l, layer.gate])),
    replicas: opts.replicas ?? [localReplica(layers)],
    auxLossCoef: opts.auxLossCoef,
  });
}
