/**
 * RouterDispatchExecutor: a model's MoE-layer executor (libs/model's MoeLayerExecutor shape)
 * that sends each MoE layer's normed hidden states to a router's Dispatch — over gRPC or the
 * in-process client — and returns the combined output. Used by this app's end-to-end tests and
 * benchmark; the attention worker has its own equivalent (apps may not import each other).
 */
import { ClientError, Status } from '@llm/platform';
import { ServerError } from '@llm/platform';
import type { RouterClient } from './grpc-replica';
import { decodeMatrix, encodeMatrix } from './tensor-codec';

export class RouterDispatchExecutor {
  /** Assignments dropped by the capacity limit over all calls. */
  numDroppedAssignments = 0;
  /** Router-side time (DispatchResponse.compute_ns) summed over all calls. */
  computeNs = 0;

  constructor(
    private readonly client: RouterClient,
    private readonly hiddenSize: number, // C
    private readonly deadlineMs = 30_000,
  ) {}

  /** (T, C) normed hidden -> (T, C) MoE output without residual. */
  async run(layer: number, hidden: Float32Array, numTokens: number): Promise<Float32Array> {
    const C = this.hiddenSize;
    const res = await this.client.dispatch(
      { layerIndex: layer, hidden: encodeMatrix(hidden, numTokens, C) },
      { deadline: this.deadlineMs },
    );
    this.numDroppedAssignments += res.numDroppedAssignments;
    this.computeNs += res.computeNs;
    try {
      const { data, rows } = decodeMatrix(res.output, 'output', C);
      if (rows !== numTokens) throw new Error(`${rows} rows for ${numTokens} tokens`);
      return data;
    } catch (err) {
      const reason = err instanceof ServerError ? err.details : (err as Error).message;
      throw new ClientError('/llm.router.v1.Router/Dispatch', Status.INTERNAL, `router answered a bad output tensor: ${reason}`);
    }
  }
}
