/**
 * Expert parallelism, gating side: split a layer's dispatch plan into one request per replica
 * and add the replicas' partial outputs back into (T, C).
 *
 *   owner[e]       = first replica (in configured order) that hosts expert e
 *   tokens of r    = { t : some kept slot j has owner[ids[t, j]] = r }, ascending
 *   ids_r[i, j]    = ids[t_i, j] if owner[ids[t_i, j]] = r else -1
 *   out[t_i]      += partial_r[i]        (replicas added in configured order)
 *
 * Pure index bookkeeping; no transport. Each token row is sent at most once per replica.
 */
import { check } from './errors';
import type { DispatchPlan } from './dispatch';

/** One replica's share of a layer call. */
export interface ReplicaPart {
  /** (N_r) token indices into the layer's T tokens, ascending. */
  tokens: Int32Array;
  /** (N_r, k) expert per slot, -1 where another replica (or nobody) runs it. */
  expertIds: Int32Array;
  /** (N_r, k) combine weights. */
  weights: Float32Array;
}

/** owner[e] = index of the first replica hosting e; throws naming an expert nobody hosts. */
export function expertOwners(numExperts: number, hostedByReplica: ReadonlyArray<readonly number[]>): Int32Array {
  const owner = new Int32Array(numExperts).fill(-1);
  hostedByReplica.forEach((hosted, r) => {
    for (const e of hosted) {
      check(Number.isInteger(e) && e >= 0 && e < numExperts, `replicas[${r}].hostedExperts`, () =>
        `replica ${r} hosts expert ${e}, expected ids in 0..${numExperts - 1}`);
      if (owner[e] < 0) owner[e] = r;
    }
  });
  for (let e = 0; e < numExperts; e++) {
    check(owner[e] >= 0, 'replicas', () => `no replica hosts expert ${e}; every expert 0..${numExperts - 1} needs an owner`);
  }
  return owner;
}

export function splitByReplica(plan: DispatchPlan, owner: Int32Array, numReplicas: number): ReplicaPart[] {
  const T = plan.numTokens;
  const k = plan.topK;
  const counts = new Int32Array(numReplicas);
  const seen = new Int32Array(numReplicas).fill(-1); // last token counted per replica
  for (let s = 0; s < T * k; s++) {
    const e = plan.keptIds[s];
    if (e < 0) continue;
    const r = owner[e];
    const t = Math.floor(s / k);
    if (seen[r] !== t) {
      seen[r] = t;
      counts[r]++;
    }
  }
  const parts: ReplicaPart[] = Array.from(counts, (n) => ({
    tokens: new Int32Array(n),
    expertIds: new Int32Array(n * k).fill(-1),
    weights: new Float32Array(n * k),
  }));
  const fill = new Int32Array(numReplicas);
  seen.fill(-1);
  for (let s = 0; s < T * k; s++) {
    const e = plan.keptIds[s];
    if (e < 0) continue;
    const r = owner[e];
    const t = Math.floor(s / k);
    if (seen[r] !== t) {
      seen[r] = t;
      parts[r].tokens[fill[r]++] = t;
    }
    const i = fill[r] - 1;
    const j = s - t * k;
    parts[r].expertIds[i * k + j] = e;
    parts[r].weights[i * k + j] = plan.weights[s];
  }
  return parts;
}

/** (N_r, C) rows hidden[tokens[i]]; the input itself when the part is every token in order. */
export function gatherRows(hidden: Float32Array, tokens: Int32Array, T: number, C: number): Float32Array {
  if (tokens.length === T) return hidden; // tokens ascending and distinct, so this is 0..T-1
  const x = new Float32Array(tokens.length * C);
  for (let i = 0; i < tokens.length; i++) x.set(hidden.subarray(tokens[i] * C, (tokens[i] + 1) * C), i * C);
  return x;
}

/** out[tokens[i]] += partial[i] for each (N_r, C) partial. */
export function scatterAddRows(out: Float32Array, partial: Float32Array, tokens: Int32Array, C: number): void {
  for (let i = 0; i < tokens.length; i++) {
    const o = tokens[i] * C;
    const p = i * C;
    for (let c = 0; c < C; c++) out[o + c] += partial[p + c];
  }
}
