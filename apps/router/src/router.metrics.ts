/**
 * The router's Prometheus metrics, from libs/moe's load statistics (MoeLoadStats), set after each
 * Dispatch for the layer it ran, per MoE layer and expert:
 *   llm_router_expert_tokens_total{layer,expert}    token-expert assignments routed to the expert
 *   llm_router_dropped_tokens_total{layer,expert}   of those, dropped by the capacity limit
 *   llm_router_tokens_total{layer}                  tokens dispatched through the layer
 *   llm_router_mean_gate_prob{layer,expert}         P_i, the mean gate probability so far
 *   llm_router_aux_loss{layer}                      alpha * E * sum_i f_i * P_i so far
 * The counters advance by what each Dispatch added (the library keeps running totals).
 * What it is not: Dispatch latency or errors (grpc_server_* from libs/platform's telemetry).
 */
import { counter, gauge } from '@llm/platform';
import type { LayerLoad } from '@llm/moe';

export class RouterMetrics {
  private readonly routed = counter('llm_router_expert_tokens_total', 'Token-expert assignments routed, per MoE layer and expert', ['layer', 'expert']);
  private readonly dropped = counter('llm_router_dropped_tokens_total', 'Token-expert assignments dropped by the capacity limit, per MoE layer and expert', ['layer', 'expert']);
  private readonly tokens = counter('llm_router_tokens_total', 'Tokens dispatched through each MoE layer', ['layer']);
  private readonly gateProb = gauge('llm_router_mean_gate_prob', 'Mean router probability per MoE layer and expert', ['layer', 'expert']);
  private readonly aux = gauge('llm_router_aux_loss', 'Switch auxiliary load-balancing loss alpha*E*sum f_i P_i per MoE layer', ['layer']);
  /** The library's totals already counted, by `layer/expert` (and `layer` for tokens). */
  private readonly counted = new Map<string, number>();

  publish(load: LayerLoad): void {
    const layer = String(load.layer);
    this.tokens.inc({ layer }, this.delta(layer, load.numTokens));
    for (const e of load.experts) {
      const labels = { layer, expert: String(e.expert) };
      this.routed.inc(labels, this.delta(`${layer}/${e.expert}/r`, e.tokensRouted));
      this.dropped.inc(labels, this.delta(`${layer}/${e.expert}/d`, e.tokensDropped));
      this.gateProb.set(labels, e.meanGateProb);
    }
    this.aux.set({ layer }, load.auxLoss);
  }

  private delta(key: string, total: number): number {
    const before = this.counted.get(key) ?? 0;
    this.counted.set(key, total);
    return total >= before ? total - before : total; // a reset of the library's totals starts over
  }
}
