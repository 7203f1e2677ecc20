/**
 * `MoeExecutor`: the MoE block of every MoE layer of a model, behind the shape libs/model's
 * forward injects — `run(layer, hidden (T, C), T) -> (T, C)` (MoE output, no residual).
 *
 * It gates locally (one MoeGate per layer), fans the plan out to the expert replicas (one call
 * per replica per layer, concurrently), combines their expert outputs with the gate weights and
 * records load statistics. Asked for `traceRows` (the internals trace), it also returns those rows'
 * routing: gate probabilities, chosen experts, combine weights, the replica that ran each expert and
 * whether the capacity dropped it; nothing extra is computed or copied otherwise.
 * With one LocalExpertReplica hosting every expert this is the plain in-process MoE layer.
 *
 * Not here: transport (replicas may be gRPC clients; apps/router), weight loading (libs/model).
 */
import { check, checkFinite, MoeInputError } from './errors';
import { combineInto } from './expert-host';
import { expertOwners, gatherRows, splitByReplica } from './fanout';
import type { DispatchPlan } from './dispatch';
import type { MoeGate } from './gate';
import type { Routing } from './gating';
import type { ExpertReplica } from './replica';
import { MoeLoadStats } from './stats';

export interface MoeExecutorOptions {
  /** One gate per MoE layer index (layers without an entry are unknown here). */
  gates: ReadonlyMap<number, MoeGate>;
  /** Expert replicas; each expert runs on the first replica listed that hosts it. */
  replicas: readonly ExpertReplica[];
  /** alpha of the aux load-balancing loss; default 0.01. */
  auxLossCoef?: number;
}

export class MoeExecutor {
  readonly hiddenSize: number;
  readonly numExperts: number;
  readonly topK: number;
  readonly stats: MoeLoadStats;
  private readonly owner: Int32Array;

  constructor(private readonly opts: MoeExecutorOptions) {
    const gates = [...opts.gates.entries()];
    check(gates.length > 0, 'gates', () => 'a MoeExecutor needs at least one MoE layer gate');
    const [, g0] = gates[0];
    for (const [layer, g] of gates) {
      check(g.hiddenSize === g0.hiddenSize && g.numExperts === g0.numExperts && g.topK === g0.topK, `gates[${layer}]`, () =>
        `layer ${layer} has C=${g.hiddenSize}, E=${g.numExperts}, k=${g.topK}; ` +
          `expected the same as the other layers (C=${g0.hiddenSize}, E=${g0.numExperts}, k=${g0.topK})`);
    }
    check(opts.replicas.length > 0, 'replicas', () => 'a MoeExecutor needs at least one expert replica');
    this.hiddenSize = g0.hiddenSize;
    this.numExperts = g0.numExperts;
    this.topK = g0.topK;
    this.owner = expertOwners(this.numExperts, opts.replicas.map((r) => r.hostedExperts));
    this.stats = new MoeLoadStats(this.numExperts, this.topK, opts.auxLossCoef ?? 0.01);
  }

  /** MoE layer indices, ascending. */
  get layers(): number[] {
    return [...this.opts.gates.keys()].sort((a, b) => a - b);
  }

  /** (T, C) normed hidden states -> (T, C) MoE output without the residual. */
  async run(layer: number, hidden: Float32Array, numTokens: number): Promise<Float32Array> {
    return (await this.dispatch(layer, hidden, numTokens)).output;
  }

  /** `run`, plus the number of (token, expert) assignments the capacity dropped (and the routing of `traceRows`). */
  async dispatch(layer: number, hidden: Float32Array, numTokens: number, traceRows?: ArrayLike<number>): Promise<MoeDispatchResult> {
    const gate = this.opts.gates.get(layer);
    if (!gate) throw new MoeInputError('layer', `unknown MoE layer ${layer} (MoE layers are [${this.layers.join(', ')}])`);
    const T = numTokens;
    const C = this.hiddenSize;
    check(Number.isInteger(T) && T >= 0, 'numTokens', () => `numTokens must be an integer >= 0, got ${T}`);
    check(hidden.length === T * C, 'hidden', () =>
      `hidden has ${hidden.length} values, expected numTokens=${T} x hiddenSize=${C} = ${T * C}`);
    checkFinite(hidden, T, C, 'hidden');
    const { routing, plan } = gate.route(hidden, T);
    this.stats.record(layer, routing, plan);
    const parts = splitByReplica(plan, this.owner, this.opts.replicas.length);
    const answers = await Promise.all(
      parts.map((part, r) =>
        part.assignments.length === 0
          ? Promise.resolve([])
          : this.opts.replicas[r].runExperts({
              layer,
              hidden: gatherRows(hidden, part.tokens, T, C), // (N_r, C)
              numRows: part.tokens.length,
              assignments: part.assignments,
            }),
      ),
    );
    const out = new Float32Array(T * C);
    answers.forEach((outputs, r) => {
      if (outputs.length !== parts[r].assignments.length) {
        throw new Error(`expert replica ${r} answered ${outputs.length} expert outputs, expected ${parts[r].assignments.length}`);
      }
      combineInto(out, outputs, parts[r].slots, plan.weights, this.topK, C); // out[t] += w_(t,j) * y
    });
    let numDropped = 0;
    for (let e = 0; e < this.numExperts; e++) numDropped += plan.numDropped[e];
    const result: MoeDispatchResult = { output: out, numDroppedAssignments: numDropped };
    if (traceRows && traceRows.length > 0) result.routing = rowRouting(routing, plan, traceRows, this.owner, this.opts.replicas, T);
    return result;
  }
}

/** The routing of some rows (internals trace): probs (E), experts (k) best first, weights, replica names, dropped flags. */
function rowRouting(routing: Routing, plan: DispatchPlan, rows: ArrayLike<number>, owner: Int32Array, replicas: readonly ExpertReplica[], T: number): RowRouting[] {
  const { topK: k } = routing;
  const E = routing.probs.length / Math.max(T, 1);
  const out: RowRouting[] = [];
  for (let i = 0; i < rows.length; i++) {
    const t = rows[i];
    check(Number.isInteger(t) && t >= 0 && t < T, 'traceRows', () => `traceRows[${i}] = ${t} is outside the ${T} rows`);
    const experts = Array.from(routing.expertIds.subarray(t * k, (t + 1) * k));
    out.push({
      row: t,
      probs: routing.probs.slice(t * E, (t + 1) * E), // (E)
      expertIds: experts,
      weights: Array.from(routing.weights.subarray(t * k, (t + 1) * k)),
      replicas: experts.map((e) => replicaName(replicas, owner[e])),
      dropped: experts.map((_, j) => plan.keptIds[t * k + j] < 0),
    });
  }
  return out;
}

function replicaName(replicas: readonly ExpertReplica[], r: number): string {
  return replicas[r].name ?? (r === 0 ? 'local' : `replica ${r}`);
}

/** One row's routing in one layer call (the internals trace). */
export interface RowRouting {
  /** Row index into the call's hidden rows. */
  row: number;
  /** (E) gate probabilities. */
  probs: Float32Array;
  /** (k) chosen experts, best first. */
  expertIds: number[];
  /** (k) combine weights. */
  weights: number[];
  /** (k) name of the replica that ran each chosen expert. */
  replicas: string[];
  /** (k) whether the capacity dropped each assignment. */
  dropped: boolean[];
}

export interface MoeDispatchResult {
  /** (T, C) MoE output without the residual. */
  output: Float32Array;
  /** (token, expert) assignments dropped by the capacity limit in this call. */
  numDroppedAssignments: number;
  /** With traceRows: their routing, in order. */
  routing?: RowRouting[];
}
