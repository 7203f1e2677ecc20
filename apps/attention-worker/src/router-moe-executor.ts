/*
 * The worker's MoE layer executor when experts live behind the router service: each MoE layer
 * sends its normed hidden states (T, C) to Router.Dispatch as raw little-endian f32 bytes and
 * gets the combined expert output (T, C) back. The client is either a gRPC client or the
 * platform's in-process client (embedded mode); the call is the same.
 *
 * With a routing request (the internals trace) the traced rows travel as trace_rows and their
 * gate probabilities, experts, weights and replicas come back in the response.
 *
 * What this is not: gating or expert math (apps/router, libs/moe) and not a retry loop: a router
 * that is down fails the step with UNAVAILABLE after the call's deadline, and the scheduler
 * decides what to do.
 */
import { endianness } from 'node:os';
import type { Client } from 'nice-grpc';
import type { MoeRoutingRequest } from '@llm/model';
import { router } from '@llm/proto';

export type RouterClient = Client<typeof router.RouterDefinition, { deadline?: Date | number }>;

if (endianness() !== 'LE') throw new Error('the worker exchanges tensors as little-endian bytes and needs a little-endian host');

/** Structurally libs/model's MoeLayerExecutor. */
export class RouterMoeExecutor {
  constructor(
    private readonly client: RouterClient,
    private readonly hiddenSize: number, // C
    private readonly deadlineMs?: number,
  ) {}

  /** hidden (T, C) normed input of layer `layer` -> (T, C) combined expert output, without residual. */
  async run(layer: number, hidden: Float32Array, numTokens: number, trace?: MoeRoutingRequest): Promise<Float32Array> {
    const C = this.hiddenSize;
    const n = numTokens * C;
    const bytes = Buffer.from(hidden.buffer, hidden.byteOffset, n * 4); // a view, no copy
    const res = await this.client.dispatch(
      { layerIndex: layer, hidden: { dtype: router.DType.D_TYPE_F32, shape: [numTokens, C], data: bytes }, traceRows: trace ? Array.from(trace.rows) : [] },
      this.deadlineMs !== undefined ? { deadline: this.deadlineMs } : {},
    );
    if (trace) {
      if (res.routing.length !== trace.rows.length) throw new Error(`router Dispatch of layer ${layer} traced ${res.routing.length} rows, expected ${trace.rows.length}`);
      for (const r of res.routing) {
        const probs = new Float32Array(r.gateProbsF32.length / 4);
        new Uint8Array(probs.buffer).set(r.gateProbsF32); // little-endian f32 (E)
        trace.out.push({ layer, position: r.position, gateProbs: probs, expertIds: r.expertIds, weights: r.weights, replicas: r.replicas, dropped: r.dropped });
      }
    }
    return decodeF32(res.output, [numTokens, C], `router Dispatch output of layer ${layer}`);
  }
}

/** Copies a Tensor's bytes into a fresh (aligned) Float32Array after checking dtype and shape. */
export function decodeF32(t: router.Tensor | undefined, shape: number[], what: string): Float32Array {
  if (!t) throw new Error(`${what} is missing`);
  if (t.dtype !== router.DType.D_TYPE_F32) throw new Error(`${what} has dtype ${router.DType[t.dtype]} (expected D_TYPE_F32)`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${what} has shape [${t.shape}] (expected [${shape}])`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n * 4) throw new Error(`${what} has ${t.data.length} bytes (expected ${n * 4})`);
  const out = new Float32Array(n);
  new Uint8Array(out.buffer).set(t.data);
  return out;
}
