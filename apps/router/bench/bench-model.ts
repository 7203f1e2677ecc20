/**
 * The benchmark's MoE layer: 8 experts, top-2, hidden 576, intermediate 1536 (a SmolLM-sized
 * Mixtral layer), random weights from a fixed seed so the bench process and its replica child
 * processes build identical layers without shipping weights.
 */
import { ortExpertBackend } from '@llm/moe';
import { buildMoeModel, RouterMoe, type NamedWeight, type RouterPeer } from '../src';

export const C = 576;
export const I = 1536;
export const E = 8;
export const K = 2;

export const benchConfig: Record<string, unknown> = {
  model_type: 'mixtral',
  hidden_size: C,
  intermediate_size: I,
  num_local_experts: E,
  num_experts_per_tok: K,
  num_hidden_layers: 1,
};

/** xorshift32 uniform in [-scale, scale). */
export function fill(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

export function benchWeights(hosted: number[]): Record<string, NamedWeight> {
  const w: Record<string, NamedWeight> = {
    'model.layers.0.block_sparse_moe.gate.weight': { shape: [E, C], data: fill(E * C, 7, 0.1) },
  };
  const std = 1 / Math.sqrt(C);
  for (const e of hosted) {
    const p = `model.layers.0.block_sparse_moe.experts.${e}`;
    w[`${p}.w1.weight`] = { shape: [I, C], data: fill(I * C, 100 + 3 * e, std) };
    w[`${p}.w2.weight`] = { shape: [C, I], data: fill(C * I, 101 + 3 * e, 1 / Math.sqrt(I)) };
    w[`${p}.w3.weight`] = { shape: [I, C], data: fill(I * C, 102 + 3 * e, std) };
  }
  return w;
}

export function benchRouter(hosted: number[], threads: number, peers: RouterPeer[] = []): RouterMoe {
  const model = buildMoeModel(benchConfig, benchWeights(hosted), { hostedExperts: hosted, backend: ortExpertBackend({ threads }) });
  return new RouterMoe({ modelId: 'bench-moe', model, peers, peerDeadlineMs: 60_000 });
}
