/**
 * Mixture-of-experts layers behind one injectable interface, and the in-process reference
 * executor that follows HF's MixtralSparseMoeBlock:
 *   router_logits = x G^T                          (T, C) x (C, E) -> (T, E)
 *   p = softmax(router_logits)  (float32, over all E experts)
 *   top-k of p per token, renormalised: w_i = p_i / sum_topk p
 *   y_t = sum_i w_i * expert_i(x_t),   expert(x) = W2 (silu(W1 x) * (W3 x))
 * Ties in the top-k go to the lower expert index. Tokens are grouped by expert so each expert
 * runs one batched product. The platform's router service and libs/moe implement the same
 * interface faster or remotely. Deliberately not: capacity limits or token dropping.
 */
import { softmaxRows, swiglu, topK } from '@llm/tensor';
import type { ModelConfig } from '../config';
import { ModelWeights, expertPrefix, getWeight, layerPrefix } from '../weights';
import type { MoeRoutingRequest } from '../runner/trace-types';
import { MatmulTransBFn, jsMatmulTransB } from './linear';

/**
 * Runs the MoE block of one layer on (T, C) normed hidden states; returns (T, C) without the residual.
 * With `trace` (the internals trace) it also fills trace.out with the routing of trace.rows.
 */
export interface MoeLayerExecutor {
  run(layer: number, hidden: Float32Array, numTokens: number, trace?: MoeRoutingRequest): Promise<Float32Array>;
}

interface ExpertWeights {
  w1: Float32Array; // (I, C) gate proj
  w2: Float32Array; // (C, I) down proj
  w3: Float32Array; // (I, C) up proj
}

export interface RoutingResult {
  /** (T, k) chosen experts, best first */
  experts: Int32Array;
  /** (T, k) renormalised weights */
  weights: Float32Array;
  /** (T, E) gate probabilities */
  probs: Float32Array;
}

/** softmax over router logits (T, E), then top-k and renormalise, per token. */
export function routeTopK(routerLogits: Float32Array, T: number, E: number, k: number): RoutingResult {
  const p = new Float32Array(T * E);
  softmaxRows(p, routerLogits, T, E);
  const experts = new Int32Array(T * k);
  const weights = new Float32Array(T * k);
  for (let t = 0; t < T; t++) {
    const top = topK(p.subarray(t * E, (t + 1) * E), k);
    let sum = 0;
    for (let i = 0; i < k; i++) sum += top.values[i];
    for (let i = 0; i < k; i++) {
      experts[t * k + i] = top.indices[i];
      weights[t * k + i] = top.values[i] / sum; // w_i = p_i / sum_topk p
    }
  }
  return { experts, weights, probs: p };
}

export class ReferenceMoeExecutor implements MoeLayerExecutor {
  private readonly routers: Float32Array[] = [];
  private readonly experts: ExpertWeights[][] = [];

  constructor(
    private readonly config: ModelConfig,
    weights: ModelWeights,
    private readonly mm: MatmulTransBFn = jsMatmulTransB,
  ) {
    const { hiddenSize: C, intermediateSize: I, numExperts: E } = config;
    if (E <= 0) throw new Error(`ReferenceMoeExecutor: config has num_local_experts=${E} (expected a mixture-of-experts model)`);
    for (let l = 0; l < config.numLayers; l++) {
      this.routers.push(getWeight(weights, `${layerPrefix(l)}.block_sparse_moe.gate.weight`, [E, C]));
      this.experts.push(Array.from({ length: E }, (_, e) => ({
        w1: getWeight(weights, `${expertPrefix(l, e)}.w1.weight`, [I, C]),
        w2: getWeight(weights, `${expertPrefix(l, e)}.w2.weight`, [C, I]),
        w3: getWeight(weights, `${expertPrefix(l, e)}.w3.weight`, [I, C]),
      })));
    }
  }

  async run(layer: number, hidden: Float32Array, T: number, trace?: MoeRoutingRequest): Promise<Float32Array> {
    const { hiddenSize: C, intermediateSize: I, numExperts: E, numExpertsPerTok: k } = this.config;
    if (!(layer >= 0 && layer < this.routers.length)) throw new Error(`MoE layer ${layer} outside [0, ${this.routers.length})`);
    if (hidden.length < T * C) throw new Error(`MoE layer ${layer}: hidden has ${hidden.length} values, expected T*C = ${T * C}`);
    const logits = await this.mm(hidden, this.routers[layer], T, C, E); // (T, C) x (C, E) -> (T, E)
    const route = routeTopK(logits, T, E, k);
    if (trace) traceRouting(trace, route, E, k);
    const out = new Float32Array(T * C);
    for (let e = 0; e < E; e++) {
      const rows: number[] = [], gates: number[] = [];
      for (let t = 0; t < T; t++) for (let i = 0; i < k; i++) {
        if (route.experts[t * k + i] === e) {
          rows.push(t);
          gates.push(route.weights[t * k + i]);
        }
      }
      if (rows.length === 0) continue;
      const n = rows.length;
      const xe = new Float32Array(n * C); // gathered tokens (n, C)
      rows.forEach((t, r) => xe.set(hidden.subarray(t * C, (t + 1) * C), r * C));
      const ex = this.experts[layer][e];
      const g = await this.mm(xe, ex.w1, n, C, I); // (n, I)
      const u = await this.mm(xe, ex.w3, n, C, I); // (n, I)
      swiglu(g, g, u, n * I); // silu(W1 x) * (W3 x)
      const y = await this.mm(g, ex.w2, n, I, C); // (n, I) x (I, C) -> (n, C)
      rows.forEach((t, r) => {
        for (let c = 0; c < C; c++) out[t * C + c] += gates[r] * y[r * C + c]; // y_t += w * expert(x_t)
      });
    }
    return out;
  }
}

/** The routing of the traced rows (position = row index; every expert runs here, nothing is dropped). */
function traceRouting(trace: MoeRoutingRequest, route: RoutingResult, E: number, k: number): void {
  for (const t of trace.rows) {
    const experts = Array.from(route.experts.subarray(t * k, (t + 1) * k));
    trace.out.push({
      layer: 0,
      position: t,
      gateProbs: route.probs.slice(t * E, (t + 1) * E), // (E)
      expertIds: experts,
      weights: Array.from(route.weights.subarray(t * k, (t + 1) * k)),
      replicas: experts.map(() => 'local'),
      dropped: experts.map(() => false),
    });
  }
}
