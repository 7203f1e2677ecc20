/**
 * The gate of one MoE layer: router weights + gating variant + optional capacity. Turns
 * (T, C) hidden states into a dispatch plan; runs no experts.
 *
 * Not here: expert math or fan-out. Follows gating.ts (variants) and dispatch.ts (capacity).
 */
import { check } from './errors';
import { gateTokens, resolveGating, routerLogits, type GatingConfig, type ResolvedGating, type Routing } from './gating';
import { planDispatch, type DispatchPlan } from './dispatch';

export interface MoeGateOptions {
  /** C */
  hiddenSize: number;
  /** E */
  numExperts: number;
  /** k */
  topK: number;
  /** Gating variant; default Mixtral (softmax, top-k, renormalise). */
  gating?: GatingConfig;
  /** (E, C) router weight, HF `block_sparse_moe.gate.weight`. */
  router: Float32Array;
  /** Per-expert capacity = ceil(capacityFactor * T * k / E); default dropless. */
  capacityFactor?: number;
  /** Names this layer in error messages, e.g. `layers[3]`. */
  field?: string;
}

export class MoeGate {
  readonly hiddenSize: number;
  readonly numExperts: number;
  readonly gating: ResolvedGating;
  readonly capacityFactor: number | undefined;
  private readonly router: Float32Array;

  constructor(opts: MoeGateOptions) {
    const { hiddenSize: C, numExperts: E } = opts;
    const field = opts.field ?? 'layer';
    check(Number.isInteger(C) && C >= 1, 'hiddenSize', () => `hiddenSize must be an integer >= 1, got ${C}`);
    this.gating = resolveGating(opts.gating ?? {}, E, opts.topK);
    check(opts.router instanceof Float32Array && opts.router.length === E * C, `${field}.router`, () =>
      `${field}.router must be a Float32Array of numExperts=${E} x hiddenSize=${C} = ${E * C} values, ` +
        `got ${opts.router instanceof Float32Array ? opts.router.length : typeof opts.router}`);
    const cf = opts.capacityFactor;
    check(cf === undefined || (Number.isFinite(cf) && cf > 0), 'capacityFactor', () =>
      `capacityFactor must be a finite number > 0 (or absent for dropless), got ${cf}`);
    this.hiddenSize = C;
    this.numExperts = E;
    this.router = opts.router;
    this.capacityFactor = cf;
  }

  get topK(): number {
    return this.gating.topK;
  }

  /** (T, C) -> routing (ids, weights, probs) and the capacity-limited plan. */
  route(hidden: Float32Array, numTokens: number): { routing: Routing; plan: DispatchPlan } {
    const { hiddenSize: C, numExperts: E } = this;
    const logits = routerLogits(hidden, this.router, numTokens, C, E); // (T, C) x (C, E) -> (T, E)
    const routing = gateTokens(logits, numTokens, this.gating);
    return { routing, plan: planDispatch(routing, E, this.capacityFactor) };
  }
}
