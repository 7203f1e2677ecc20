/**
 * Expert parallelism, gating side: split a layer's dispatch plan into one request per replica
 * (proto llm.router.v1 RunExpertsRequest: rows + per-expert row lists).
 *
 *   owner[e]         = first replica (in configured order) that hosts expert e
 *   tokens of r      = { t : some kept slot (t, j) has owner[ids[t, j]] = r }, ascending
 *   rows of (r, e)   = positions in `tokens of r` of the tokens whose kept slot chose e
 *
 * Each token row is sent to a replica at most once, whatever k. The weighted combine of the
 * answers is expert-host.ts `combineInto`, with the slot list kept per assignment here.
 * Pure index bookkeeping; no transport.
 */
import { check } from './errors';
import { groupByExpert, type DispatchPlan } from './dispatch';
import type { ExpertRows } from './expert-host';

/** One replica's share of a layer call. */
export interface ReplicaPart {
  /** (N_r) token indices into the layer's T tokens, ascending. */
  tokens: Int32Array;
  /** Per expert owned by r that has slots: rows into `tokens`. */
  assignments: ExpertRows[];
  /** Parallel to `assignments`: the slot t*k + j of each row (for its combine weight). */
  slots: Int32Array[];
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
  const { numTokens: T, topK: k, numExperts: E } = plan;
  const { offsets, slots } = groupByExpert(plan.keptIds, E);
  const rowOf = new Int32Array(T);
  const parts: ReplicaPart[] = [];
  for (let r = 0; r < numReplicas; r++) {
    rowOf.fill(-1);
    for (let e = 0; e < E; e++) {
      if (owner[e] !== r) continue;
      for (let i = offsets[e]; i < offsets[e + 1]; i++) rowOf[Math.floor(slots[i] / k)] = 0;
    }
    let n = 0;
    for (let t = 0; t < T; t++) if (rowOf[t] === 0) n++;
    const tokens = new Int32Array(n);
    n = 0;
    for (let t = 0; t < T; t++) {
      if (rowOf[t] < 0) continue;
      rowOf[t] = n;
      tokens[n++] = t;
    }
    const part: ReplicaPart = { tokens, assignments: [], slots: [] };
    for (let e = 0; e < E; e++) {
      if (owner[e] !== r || offsets[e + 1] === offsets[e]) continue;
      const s = slots.slice(offsets[e], offsets[e + 1]);
      part.assignments.push({ expertId: e, rows: Int32Array.from(s, (slot) => rowOf[Math.floor(slot / k)]) });
      part.slots.push(s);
    }
    parts.push(part);
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
