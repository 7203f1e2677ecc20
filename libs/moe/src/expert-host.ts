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
import { groupByExpert } from './dispatch';
import { checkExpertWeights, jsExpertBackend, type ExpertBackend, type ExpertFfn, type ExpertWeights } from './expert-ffn';

/** Tokens and their expert assignments, as a gating replica sends them to an expert replica. */
export interface ExpertRequest {
  layer: number;
  /** (N, C) hidden states of the tokens that need this replica. */
  hidden: Float32Array;
  /** N */
  numTokens: number;
  /** k: slots per token. */
  topK: number;
  /** (N, k) expert per slot; -1 = nothing to run in this slot (dropped, or another replica's). */
  expertIds: Int32Array;
  /** (N, k) combine weight per slot. */
  weights: Float32Array;
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

  /** out (N, C) = sum over slots j with ids[t, j] >= 0 of weights[t, j] * expert_{ids[t, j]}(hidden[t]). */
  async run(req: ExpertRequest): Promise<Float32Array> {
    const { hidden, numTokens: N, topK: k, expertIds: ids, weights } = req;
    const C = this.hiddenSize;
    this.checkRequest(req);
    const out = new Float32Array(N * C);
    const { offsets, slots } = groupByExpert(ids, this.numExperts);
    for (let e = 0; e < this.numExperts; e++) {
      const n = offsets[e + 1] - offsets[e];
      if (n === 0) continue;
      const x = new Float32Array(n * C); // (n_e, C) gathered rows
      for (let i = 0; i < n; i++) {
        const t = Math.floor(slots[offsets[e] + i] / k);
        x.set(hidden.subarray(t * C, (t + 1) * C), i * C);
      }
      const y = await (this.ffns[e] as ExpertFfn).run(x, n); // (n_e, C)
      for (let i = 0; i < n; i++) {
        const s = slots[offsets[e] + i];
        const w = weights[s];
        const o = Math.floor(s / k) * C;
        for (let c = 0; c < C; c++) out[o + c] += w * y[i * C + c];
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    for (const f of this.ffns) if (f) await f.dispose();
  }

  private checkRequest(req: ExpertRequest): void {
    const { numTokens: N, topK: k, hidden, expertIds, weights } = req;
    const C = this.hiddenSize;
    check(Number.isInteger(N) && N >= 0, 'numTokens', () => `numTokens must be an integer >= 0, got ${N}`);
    check(Number.isInteger(k) && k >= 1, 'topK', () => `topK must be an integer >= 1, got ${k}`);
    check(hidden.length === N * C, 'hidden', () =>
      `hidden has ${hidden.length} values, expected numTokens=${N} x hiddenSize=${C} = ${N * C}`);
    check(expertIds.length === N * k && weights.length === N * k, 'expertIds', () =>
      `expertIds and weights must have numTokens x topK = ${N * k} entries, got ${expertIds.length} and ${weights.length}`);
    for (let s = 0; s < expertIds.length; s++) {
      const e = expertIds[s];
      if (e < 0) continue;
      check(e < this.numExperts && this.hosts(e), 'expertIds', () =>
        `token ${Math.floor(s / k)} asks for expert ${e} of layer ${req.layer}, which this replica does not host ` +
          `(hosts [${this.hostedExperts.join(', ')}])`);
    }
  }
}
