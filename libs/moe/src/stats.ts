/**
 * Load statistics per MoE layer and expert, accumulated over every call since the last reset:
 * assignments routed and dropped, mean gate probability, and the Switch Transformer
 * auxiliary load-balancing loss (Fedus et al. 2021, eq. 4):
 *
 *   aux = alpha * E * sum_i f_i * P_i
 *   f_i = (assignments the gate routed to expert i) / (T * k)   — sums to 1 over i
 *   P_i = (1/T) sum_t p_t,i                                    — mean gate probability
 *
 * With perfectly even routing aux = alpha. NOTE: HF's `load_balancing_loss_func` counts f_i
 * over T (so it sums to k) and is k times this. For sigmoid gating p_t is the scores
 * normalised to sum 1 (DeepSeek-V3 eq. 19). f_i counts routed assignments before capacity drops.
 *
 * Plain numbers only; apps turn them into Prometheus gauges.
 */
import type { DispatchPlan } from './dispatch';
import type { Routing } from './gating';

export interface ExpertLoad {
  expert: number;
  /** Assignments the gate routed to this expert (before capacity). */
  tokensRouted: number;
  /** Assignments dropped for lack of capacity. */
  tokensDropped: number;
  /** P_i: mean gate probability over all tokens seen. */
  meanGateProb: number;
}

export interface LayerLoad {
  layer: number;
  /** T summed over calls. */
  numTokens: number;
  /** Tokens with every assignment dropped. */
  numTokensDropped: number;
  experts: ExpertLoad[];
  /** alpha * E * sum_i f_i P_i over everything since the last reset (0 before any token). */
  auxLoss: number;
  /** The same over the last call only. */
  lastAuxLoss: number;
}

interface LayerAcc {
  numTokens: number;
  numTokensDropped: number;
  routed: Float64Array;
  dropped: Float64Array;
  probSum: Float64Array;
  lastAuxLoss: number;
}

/** alpha * E * sum_i (routed_i / (T k)) * (probSum_i / T) */
export function auxLoss(alpha: number, routed: ArrayLike<number>, probSum: ArrayLike<number>, T: number, k: number): number {
  if (T === 0) return 0;
  const E = routed.length;
  let acc = 0;
  for (let i = 0; i < E; i++) acc += (routed[i] / (T * k)) * (probSum[i] / T);
  return alpha * E * acc;
}

export class MoeLoadStats {
  private readonly layers = new Map<number, LayerAcc>();

  /** alpha defaults to 0.01 (Switch Transformer); Mixtral configs carry router_aux_loss_coef. */
  constructor(
    readonly numExperts: number,
    readonly topK: number,
    readonly alpha = 0.01,
  ) {}

  record(layer: number, routing: Routing, plan: DispatchPlan): void {
    const E = this.numExperts;
    const T = routing.numTokens;
    const acc = this.layers.get(layer) ?? this.newLayer(layer);
    const probSum = new Float64Array(E);
    for (let t = 0; t < T; t++) for (let e = 0; e < E; e++) probSum[e] += routing.probs[t * E + e];
    for (let e = 0; e < E; e++) {
      acc.routed[e] += plan.numRouted[e];
      acc.dropped[e] += plan.numDropped[e];
      acc.probSum[e] += probSum[e];
    }
    acc.numTokens += T;
    acc.numTokensDropped += plan.numTokensDropped;
    acc.lastAuxLoss = auxLoss(this.alpha, plan.numRouted, probSum, T, this.topK);
  }

  snapshot(): LayerLoad[] {
    return [...this.layers.entries()]
      .sort(([a], [b]) => a - b)
      .map(([layer, acc]) => ({
        layer,
        numTokens: acc.numTokens,
        numTokensDropped: acc.numTokensDropped,
        experts: Array.from({ length: this.numExperts }, (_, e) => ({
          expert: e,
          tokensRouted: acc.routed[e],
          tokensDropped: acc.dropped[e],
          meanGateProb: acc.numTokens === 0 ? 0 : acc.probSum[e] / acc.numTokens,
        })),
        auxLoss: auxLoss(this.alpha, acc.routed, acc.probSum, acc.numTokens, this.topK),
        lastAuxLoss: acc.lastAuxLoss,
      }));
  }

  reset(): void {
    this.layers.clear();
  }

  private newLayer(layer: number): LayerAcc {
    const E = this.numExperts;
    const acc: LayerAcc = {
      numTokens: 0,
      numTokensDropped: 0,
      routed: new Float64Array(E),
      dropped: new Float64Array(E),
      probSum: new Float64Array(E),
      lastAuxLoss: 0,
    };
    this.layers.set(layer, acc);
    return acc;
  }
}
