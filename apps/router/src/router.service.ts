/**
 * The llm.router.v1 Router handlers: thin — decode tensors, call libs/moe through RouterMoe,
 * encode the answer. Library input errors (MoeInputError: wrong hidden size, unknown layer, an
 * expert not hosted here, a NaN at token t) become INVALID_ARGUMENT naming the field; a peer that
 * is down becomes UNAVAILABLE after its deadline (grpc-replica.ts). Dispatch's trace_rows (the
 * internals trace) come back as the routing of those rows.
 */
import { Inject, Injectable } from '@nestjs/common';
import { invalidArgument, toServerError, ServerError, type ServiceImplementation } from '@llm/platform';
import { router, trace } from '@llm/proto';
import { MoeInputError, type LayerLoad, type RowRouting } from '@llm/moe';
import { RouterMoe } from './router-moe';
import { RouterMetrics } from './router.metrics';
import { decodeMatrix, encodeMatrix } from './tensor-codec';

export const ROUTER_MOE = Symbol('ROUTER_MOE');

/** libs/moe names its arguments; the wire names them as the proto does. */
const PROTO_FIELD: Record<string, string> = { layer: 'layer_index', numRows: 'hidden', numTokens: 'hidden' };

function toRouterError(err: unknown): ServerError {
  if (err instanceof MoeInputError) return invalidArgument(PROTO_FIELD[err.field] ?? err.field, err.message);
  return toServerError(err);
}

function layerStats(l: LayerLoad): router.LayerStats {
  return {
    layerIndex: l.layer,
    numTokens: l.numTokens,
    auxLoss: l.auxLoss,
    experts: l.experts.map((e) => ({
      expertId: e.expert,
      numTokensRouted: e.tokensRouted,
      numTokensDropped: e.tokensDropped,
      meanGateProb: e.meanGateProb,
    })),
  };
}

/** One traced row's routing (libs/moe) as llm.trace.v1.TokenRouting; position is the row index. */
function routingProto(layer: number, r: RowRouting): trace.TokenRouting {
  const p = r.probs;
  return {
    layer,
    position: r.row,
    gateProbsF32: Buffer.from(p.buffer, p.byteOffset, p.byteLength), // little-endian hosts
    expertIds: r.expertIds,
    weights: r.weights,
    replicas: r.replicas,
    dropped: r.dropped,
  };
}

@Injectable()
export class RouterService implements ServiceImplementation<typeof router.RouterDefinition> {
  private readonly metrics = new RouterMetrics();

  constructor(@Inject(ROUTER_MOE) private readonly moe: RouterMoe) {}

  async dispatch(req: router.DispatchRequest): Promise<router.DispatchResponse> {
    const started = process.hrtime.bigint();
    try {
      const C = this.moe.shape.hiddenSize;
      const { data, rows } = decodeMatrix(req.hidden, 'hidden', C);
      const exec = await this.moe.executor();
      const res = await exec.dispatch(req.layerIndex, data, rows, req.traceRows?.length ? req.traceRows : undefined);
      const load = exec.stats.snapshot().find((l) => l.layer === req.layerIndex);
      if (load) this.metrics.publish(load);
      return {
        output: encodeMatrix(res.output, rows, C),
        numDroppedAssignments: res.numDroppedAssignments,
        computeNs: Number(process.hrtime.bigint() - started),
        routing: (res.routing ?? []).map((r) => routingProto(req.layerIndex, r)),
      };
    } catch (err) {
      throw toRouterError(err);
    }
  }

  async runExperts(req: router.RunExpertsRequest): Promise<router.RunExpertsResponse> {
    try {
      const C = this.moe.shape.hiddenSize;
      const { data, rows } = decodeMatrix(req.hidden, 'hidden', C);
      const assignments = req.assignments.map((a) => ({ expertId: a.expertId, rows: Int32Array.from(a.rowIndices) }));
      const outputs = await this.moe.local.runExperts({ layer: req.layerIndex, hidden: data, numRows: rows, assignments });
      return {
        outputs: outputs.map((y, i) => ({ expertId: assignments[i].expertId, output: encodeMatrix(y, assignments[i].rows.length, C) })),
      };
    } catch (err) {
      throw toRouterError(err);
    }
  }

  async stats(req: router.StatsRequest): Promise<router.StatsResponse> {
    const all = this.moe.stats();
    if (req.layerIndex !== undefined && !this.moe.moeLayers.includes(req.layerIndex)) {
      throw invalidArgument('layer_index', `${req.layerIndex} is not a MoE layer (MoE layers are [${this.moe.moeLayers.join(', ')}])`);
    }
    const layers = req.layerIndex === undefined ? all : all.filter((l) => l.layer === req.layerIndex);
    return { layers: layers.map(layerStats) };
  }

  async getRouterInfo(): Promise<router.GetRouterInfoResponse> {
    const s = this.moe.shape;
    return {
      modelId: this.moe.modelId,
      moeLayerIndices: this.moe.moeLayers,
      numExperts: s.numExperts,
      hostedExpertIds: [...this.moe.local.hostedExperts],
      numExpertsPerToken: s.topK,
      hiddenSize: s.hiddenSize,
    };
  }
}
