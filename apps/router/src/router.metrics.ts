/**
 * Prometheus gauges for the router's load statistics (libs/moe MoeLoadStats), labelled by layer
 * and expert, refreshed after each Dispatch for the layer it ran:
 *   llm_router_tokens_routed{layer,expert}     assignments routed (cumulative)
 *   llm_router_tokens_dropped{layer,expert}    assignments dropped by the capacity limit
 *   llm_router_mean_gate_prob{layer,expert}    P_i, mean gate probability
 *   llm_router_aux_loss{layer}                 alpha * E * sum_i f_i * P_i
 */
import { gauge } from '@llm/platform';
import type { LayerLoad } from '@llm/moe';

export class RouterMetrics {
  private readonly routed = gauge('llm_router_tokens_routed', 'Token-expert assignments routed, per MoE layer and expert', ['layer', 'expert']);
  private readonly dropped = gauge('llm_router_tokens_dropped', 'Token-expert assignments dropped by the capacity limit', ['layer', 'expert']);
  private readonly gateProb = gauge('llm_router_mean_gate_prob', 'Mean router probability per MoE layer and expert', ['layer', 'expert']);
  private readonly aux = gauge('llm_router_aux_loss', 'Switch auxiliary load-balancing loss alpha*E*sum f_i P_i per MoE layer', ['layer']);

  publish(load: LayerLoad): void {
    const layer = String(load.layer);
    for (const e of load.experts) {
      const labels = { layer, expert: String(e.expert) };
      this.routed.set(labels, e.tokensRouted);
      this.dropped.set(labels, e.tokensDropped);
      this.gateProb.set(labels, e.meanGateProb);
    }
    this.aux.set({ layer }, load.auxLoss);
  }
}
