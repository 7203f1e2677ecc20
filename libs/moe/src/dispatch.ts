/**
 * Dispatch planning: which (token, expert) assignments run, under an optional capacity, and
 * the grouping of assignments by expert so each expert sees its tokens as one batch.
 *
 * Capacity (Switch Transformer, Fedus et al. 2021, sec. 2.2; GShard, Lepikhin et al. 2020):
 *   capacity = ceil(capacityFactor * T * k / E) assignments per expert.
 * Slots fill in priority order (choice rank j, then token t): every token's first choice is
 * placed before any second choice, as in GShard's top-2 gating. An assignment that finds its
 * expert full is dropped: it contributes nothing, so with the residual added outside the MoE
 * block the token passes through unchanged for that expert. The kept weights are NOT
 * renormalised. Dropless (no capacity) is the default.
 *
 * Not here: the expert math (expert-ffn.ts) and the scatter-add (expert-host.ts).
 */
import type { Routing } from './gating';

export interface DispatchPlan {
  numTokens: number;
  topK: number;
  numExperts: number;
  /** Assignments each expert may take, or null when dropless. */
  capacity: number | null;
  /** (T, k) expert of each assignment, -1 where the assignment was dropped. */
  keptIds: Int32Array;
  /** (T, k) combine weights (from the routing; dropped ones are ignored). */
  weights: Float32Array;
  /** (E) assignments the gate routed to each expert, kept or not. */
  numRouted: Int32Array;
  /** (E) assignments dropped for lack of capacity. */
  numDropped: Int32Array;
  /** Tokens all of whose k assignments were dropped (their MoE output is 0). */
  numTokensDropped: number;
}

/** ceil(capacityFactor * T * k / E); at least 1. */
export function expertCapacity(capacityFactor: number, T: number, k: number, E: number): number {
  return Math.max(1, Math.ceil((capacityFactor * T * k) / E));
}

/** Applies the capacity (if any) to a routing. */
export function planDispatch(routing: Routing, numExperts: number, capacityFactor?: number): DispatchPlan {
  const T = routing.numTokens;
  const k = routing.topK;
  const E = numExperts;
  const capacity = capacityFactor === undefined ? null : expertCapacity(capacityFactor, T, k, E);
  const keptIds = new Int32Array(T * k);
  const numRouted = new Int32Array(E);
  const numDropped = new Int32Array(E);
  const used = new Int32Array(E);
  for (let j = 0; j < k; j++) {
    for (let t = 0; t < T; t++) {
      const e = routing.expertIds[t * k + j];
      numRouted[e]++;
      if (capacity !== null && used[e] >= capacity) {
        numDropped[e]++;
        keptIds[t * k + j] = -1;
      } else {
        used[e]++;
        keptIds[t * k + j] = e;
      }
    }
  }
  let numTokensDropped = 0;
  for (let t = 0; t < T; t++) {
    let kept = 0;
    for (let j = 0; j < k; j++) if (keptIds[t * k + j] >= 0) kept++;
    if (kept === 0) numTokensDropped++;
  }
  return { numTokens: T, topK: k, numExperts: E, capacity, keptIds, weights: routing.weights, numRouted, numDropped, numTokensDropped };
}

/**
 * Assignments grouped by expert (a counting sort, stable in slot order):
 *   slots[offsets[e] .. offsets[e+1]) are the slot indices t*k + j whose expert is e.
 * Expert ids < 0 (dropped or another replica's) are skipped.
 */
export interface ExpertGroups {
  /** (E + 1) prefix sums of the per-expert counts. */
  offsets: Int32Array;
  /** (numAssigned) slot indices t*k + j, grouped by expert, token order within each. */
  slots: Int32Array;
}

export function groupByExpert(ids: Int32Array, numExperts: number): ExpertGroups {
  const E = numExperts;
  const offsets = new Int32Array(E + 1);
  for (let s = 0; s < ids.length; s++) if (ids[s] >= 0) offsets[ids[s] + 1]++;
  for (let e = 0; e < E; e++) offsets[e + 1] += offsets[e];
  const slots = new Int32Array(offsets[E]);
  const fill = offsets.slice(0, E);
  for (let s = 0; s < ids.length; s++) {
    const e = ids[s];
    if (e >= 0) slots[fill[e]++] = s;
  }
  return { offsets, slots };
}
