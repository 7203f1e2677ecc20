/**
 * The experts one process hosts for one layer, and the dispatch/combine around them:
 * group assignments by expert, run each expert once on all its rows, scatter-add back.
 *
 *   for each hosted expert e with rows R_e = {t : ids[t, j] = e}:
 *     Y_e = expert_e(X[R_e])                      // (|R_e|, C) -> (|R_e|, C), one batch
 *     out[t] += weights[t, j] * Y_e[row of t]     // scatter-add
 *
 * Not here: gating (gating.ts), capacity (dispatch.ts), fan-out across replicas (executor.ts).
 */
import { check } from './errors';
import { groupByExpert, type ExpertGroups } from './dispatch';
import { checkExpertWeights, jsExpertBackend, type ExpertBackend, type ExpertFfn, type ExpertWeights } from './expert-ffn';

/** The rows one expert must process (proto llm.router.v1 ExpertRows). */
export interface ExpertRows {
  expertId: number;
  /** Row indices into the request's hidden rows. */
  rows: Int32Array;
}

/** Rows gated elsewhere, for experts a replica hosts (proto RunExpertsRequest). */
export interface ExpertRowsRequest {
  layer: number;
  /** (N, C) hidden rows. */
  hidden: Float32Array;
  /** N */
  numRows: number;
  assignments: readonly ExpertRows[];
}

export interface ExpertHostOptions {
  /** C */
  hiddenSize: number;
  /** I */
  intermediateSize: number;
  /** E */
  numExperts: number;
  /** Weights by expert id; only hosted experts need an entry. */
  experts: ReadonlyArray<ExpertWeights | undefined> | ReadonlyMap<number, ExpertWeights>;
  /** Expert ids run here; default all E. */
  hostedExperts?: readonly number[];
  /** Matmul backend; default the plain-JS reference. */
  backend?: ExpertBackend;
  /** Names this layer in error messages, e.g. `layers[3]`. */
  field?: string;
}

export class ExpertHost {
  readonly hiddenSize: number;
  readonly numExperts: number;
  readonly hostedExperts: readonly number[];
  private readonly ffns: (ExpertFfn | undefined)[];

  constructor(opts: ExpertHostOptions) {
    const { hiddenSize: C, intermediateSize: I, numExperts: E } = opts;
    const field = opts.field ?? 'layer';
    check(Number.isInteger(C) && C >= 1, 'hiddenSize', () => `hiddenSize must be an integer >= 1, got ${C}`);
    check(Number.isInteger(I) && I >= 1, 'intermediateSize', () => `intermediateSize must be an integer >= 1, got ${I}`);
    const hosted = opts.hostedExperts ?? Array.from({ length: E }, (_, e) => e);
    check(hosted.length > 0 && new Set(hosted).size === hosted.length, 'hostedExperts', () =>
      `hostedExperts must be a non-empty list of distinct expert ids, got [${hosted.join(', ')}]`);
    const backend = opts.backend ?? jsExpertBackend;
    this.hiddenSize = C;
    this.numExperts = E;
    this.hostedExperts = [...hosted].sort((a, b) => a - b);
    this.ffns = new Array<ExpertFfn | undefined>(E).fill(undefined);
    for (const e of this.hostedExperts) {
      check(Number.isInteger(e) && e >= 0 && e < E, 'hostedExperts', () => `hostedExperts has ${e}, expected ids in 0..${E - 1}`);
      const w = opts.experts instanceof Map ? opts.experts.get(e) : (opts.experts as ReadonlyArray<ExpertWeights | undefined>)[e];
      check(w !== undefined, `${field}.experts[${e}]`, () => `${field}.experts[${e}] is missing but expert ${e} is hosted here`);
      checkExpertWeights(w, C, I, `${field}.experts[${e}]`);
      this.ffns[e] = backend(w, C, I);
    }
  }

  hosts(expert: number): boolean {
    return this.ffns[expert] !== undefined;
  }

  /**
   * Runs each assignment's expert on its rows, one batch per assignment:
   *   outputs[a] = expert_{a.expertId}(hidden[a.rows])   (n_a, C), unweighted, in request order.
   */
  async runRows(req: ExpertRowsRequest): Promise<Float32Array[]> {
    this.checkRequest(req);
    const C = this.hiddenSize;
    const outputs: Float32Array[] = [];
    for (const { expertId, rows } of req.assignments) {
      const n = rows.length;
      const x = new Float32Array(n * C); // (n, C) gathered rows
      for (let i = 0; i < n; i++) x.set(req.hidden.subarray(rows[i] * C, (rows[i] + 1) * C), i * C);
      outputs.push(n === 0 ? x : await (this.ffns[expertId] as ExpertFfn).run(x, n));
    }
    return outputs;
  }

  /**
   * The whole dispatch/combine over (T, k) slots, every expert local:
   *   out[t] = sum_{j : ids[t, j] >= 0} weights[t, j] * expert_{ids[t, j]}(hidden[t])
   */
  async run(hidden: Float32Array, T: number, k: number, ids: Int32Array, weights: Float32Array, layer = 0): Promise<Float32Array> {
    const groups = groupByExpert(ids, this.numExperts);
    const assignments = slotGroupsToRows(groups, k);
    const outputs = await this.runRows({ layer, hidden, numRows: T, assignments });
    const out = new Float32Array(T * this.hiddenSize);
    combineInto(out, outputs, assignments.map((a) => groups.slots.subarray(groups.offsets[a.expertId], groups.offsets[a.expertId + 1])), weights, k, this.hiddenSize);
    return out;
  }

  async dispose(): Promise<void> {
    for (const f of this.ffns) if (f) await f.dispose();
  }

  private checkRequest(req: ExpertRowsRequest): void {
    const { numRows: N, hidden } = req;
    const C = this.hiddenSize;
    check(Number.isInteger(N) && N >= 0, 'numRows', () => `numRows must be an integer >= 0, got ${N}`);
    check(hidden.length === N * C, 'hidden', () =>
      `hidden has ${hidden.length} values, expected rows=${N} x hiddenSize=${C} = ${N * C}`);
    for (const { expertId: e, rows } of req.assignments) {
      check(Number.isInteger(e) && e >= 0 && e < this.numExperts && this.hosts(e), 'assignments', () =>
        `expert ${e} of layer ${req.layer} is not hosted by this replica (hosts [${this.hostedExperts.join(', ')}])`);
      for (let i = 0; i < rows.length; i++) {
        check(rows[i] >= 0 && rows[i] < N, 'assignments', () =>
          `expert ${e} of layer ${req.layer} asks for row ${rows[i]}, but hidden has ${N} rows`);
      }
    }
  }
}

/** One ExpertRows per expert with slots; rows are the slots' tokens t = slot / k. */
export function slotGroupsToRows(groups: ExpertGroups, k: number): ExpertRows[] {
  const out: ExpertRows[] = [];
  for (let e = 0; e + 1 < groups.offsets.length; e++) {
    const slots = groups.slots.subarray(groups.offsets[e], groups.offsets[e + 1]);
    if (slots.length === 0) continue;
    out.push({ expertId: e, rows: Int32Array.from(slots, (s) => Math.floor(s / k)) });
  }
  return out;
}

/**
 * Weighted scatter-add: for assignment a, row i came from slot s = slots[a][i] (token t = s / k):
 *   out[t] += weights[s] * outputs[a][i]        out (T, C), outputs[a] (n_a, C)
 */
export function combineInto(
  out: Float32Array,
  outputs: readonly Float32Array[],
  slots: readonly Int32Array[],
  weights: Float32Array,
  k: number,
  C: number,
): void {
  outputs.forEach((y, a) => {
    const s = slots[a];
    if (y.length !== s.length * C) {
      throw new Error(`expert output ${a} has ${y.length} values, expected ${s.length} rows x ${C} = ${s.length * C}`);
    }
    for (let i = 0; i < s.length; i++) {
      const w = weights[s[i]];
      const o = Math.floor(s[i] / k) * C;
      for (let c = 0; c < C; c++) out[o + c] += w * y[i * C + c];
    }
  });
}
