/**
 * An expert replica behind gRPC: the `ExpertReplica` of libs/moe implemented with the Router's
 * RunExperts RPC, so a gating router fans tokens out to peers with one call per peer per layer.
 * Also `RouterClient` (the nice-grpc client type, gRPC or in-process) and peer discovery
 * through GetRouterInfo.
 *
 * A peer that is down or silent fails the call with UNAVAILABLE once the call's deadline has
 * passed (never a hang); the peer's own INVALID_ARGUMENT and others keep their code.
 */
import type { Client } from 'nice-grpc';
import { ClientError, ServerError, Status } from '@llm/platform';
import { router } from '@llm/proto';
import type { ExpertReplica, ExpertRowsRequest } from '@llm/moe';
import { decodeMatrix, encodeMatrix } from './tensor-codec';

export type RouterClient = Client<typeof router.RouterDefinition, { deadline?: Date | number }>;

/** Turns a failed peer call into the error this router answers with. */
export function peerError(address: string, what: string, err: unknown): Error {
  if (err instanceof ClientError) {
    if (err.code === Status.UNAVAILABLE || err.code === Status.DEADLINE_EXCEEDED || err.code === Status.CANCELLED) {
      return new ServerError(Status.UNAVAILABLE, `router replica ${address} did not answer ${what} (${Status[err.code]}: ${err.details})`);
    }
    return new ServerError(err.code, `router replica ${address} refused ${what}: ${err.details}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export class GrpcExpertReplica implements ExpertReplica {
  constructor(
    readonly address: string,
    private readonly client: RouterClient,
    readonly hostedExperts: readonly number[],
    private readonly hiddenSize: number,
    private readonly deadlineMs: number,
  ) {}

  /** How traces name the replica that ran an expert. */
  get name(): string {
    return this.address;
  }

  /** Asks the peer what it serves (GetRouterInfo) and wraps it. */
  static async discover(address: string, client: RouterClient, deadlineMs: number): Promise<{ replica: GrpcExpertReplica; info: router.GetRouterInfoResponse }> {
    let info: router.GetRouterInfoResponse;
    try {
      info = await client.getRouterInfo({}, { deadline: deadlineMs });
    } catch (err) {
      throw peerError(address, 'GetRouterInfo', err);
    }
    return { replica: new GrpcExpertReplica(address, client, info.hostedExpertIds, info.hiddenSize, deadlineMs), info };
  }

  async runExperts(req: ExpertRowsRequest): Promise<Float32Array[]> {
    const C = this.hiddenSize;
    const what = `RunExperts for layer ${req.layer}`;
    let res: router.RunExpertsResponse;
    try {
      res = await this.client.runExperts(
        {
          layerIndex: req.layer,
          hidden: encodeMatrix(req.hidden, req.numRows, C),
          assignments: req.assignments.map((a) => ({ expertId: a.expertId, rowIndices: Array.from(a.rows) })),
        },
        { deadline: this.deadlineMs },
      );
    } catch (err) {
      throw peerError(this.address, what, err);
    }
    if (res.outputs.length !== req.assignments.length) {
      throw new ServerError(Status.INTERNAL, `router replica ${this.address} answered ${res.outputs.length} expert outputs to ${what}, expected ${req.assignments.length}`);
    }
    return res.outputs.map((o, i) => {
      const want = req.assignments[i];
      if (o.expertId !== want.expertId) {
        throw new ServerError(Status.INTERNAL, `router replica ${this.address} answered expert ${o.expertId} at position ${i} of ${what}, expected ${want.expertId}`);
      }
      let decoded: { data: Float32Array; rows: number };
      try {
        decoded = decodeMatrix(o.output, `outputs[${i}].output`, C);
      } catch (err) {
        throw new ServerError(Status.INTERNAL, `router replica ${this.address} answered ${what} with a bad tensor: ${(err as Error).message}`);
      }
      const { data, rows } = decoded;
      if (rows !== want.rows.length) {
        throw new ServerError(Status.INTERNAL, `router replica ${this.address} answered ${rows} rows for expert ${o.expertId}, expected ${want.rows.length}`);
      }
      return data;
    });
  }
}
