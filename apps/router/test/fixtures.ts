/**
 * Test fixtures: a tiny Mixtral-shaped MoE (config.json object + HF-named weights) with seeded
 * random values, and helpers that start routers over gRPC on 127.0.0.1 with free ports.
 */
import { createInProcessClient, startGrpcServer, connectGrpc, type RunningGrpcServer } from '@llm/platform';
import { router } from '@llm/proto';
import { buildMoeModel, RouterMoe, RouterService, type NamedWeight, type RouterPeer, type RouterClient } from '../src';

export const C = 16;
export const I = 24;
export const E = 4;
export const K = 2;
export const LAYERS = 2;

export const mixtralConfig: Record<string, unknown> = {
  model_type: 'mixtral',
  hidden_size: C,
  intermediate_size: I,
  num_local_experts: E,
  num_experts_per_tok: K,
  num_hidden_layers: LAYERS,
};

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(n: number, rand: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

export function mixtralWeights(seed: number): Record<string, NamedWeight> {
  const rand = rng(seed);
  const w: Record<string, NamedWeight> = {};
  for (let l = 0; l < LAYERS; l++) {
    w[`model.layers.${l}.block_sparse_moe.gate.weight`] = { shape: [E, C], data: randn(E * C, rand, 1) };
    for (let e = 0; e < E; e++) {
      const p = `model.layers.${l}.block_sparse_moe.experts.${e}`;
      w[`${p}.w1.weight`] = { shape: [I, C], data: randn(I * C, rand, 0.5) };
      w[`${p}.w2.weight`] = { shape: [C, I], data: randn(C * I, rand, 0.5) };
      w[`${p}.w3.weight`] = { shape: [I, C], data: randn(I * C, rand, 0.5) };
    }
  }
  return w;
}

export function routerMoe(opts: { hosted?: number[]; peers?: RouterPeer[]; deadlineMs?: number; capacityFactor?: number; seed?: number } = {}): RouterMoe {
  const model = buildMoeModel(mixtralConfig, mixtralWeights(opts.seed ?? 1), { hostedExperts: opts.hosted, capacityFactor: opts.capacityFactor });
  return new RouterMoe({ modelId: 'tiny-mixtral', model, peers: opts.peers, peerDeadlineMs: opts.deadlineMs });
}

export interface Started {
  server: RunningGrpcServer;
  client: RouterClient;
  close(): Promise<void>;
}

/** Serves `implementation` as llm.router.v1.Router on 127.0.0.1:<free port> and connects a client. */
export async function serve(implementation: object, deadlineMs = 10_000): Promise<Started> {
  const server = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [{ definition: router.RouterDefinition, implementation }] });
  const conn = connectGrpc(router.RouterDefinition, server.address, { deadlineMs });
  return {
    server,
    client: conn.client,
    async close() {
      conn.close();
      await server.close(100);
    },
  };
}

export function inProcess(moe: RouterMoe): RouterClient {
  return createInProcessClient(router.RouterDefinition, new RouterService(moe));
}
