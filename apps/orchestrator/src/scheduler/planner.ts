/*
 * planStep: which sequences go into the next step and how many tokens each computes, under a
 * per-step token budget (max_num_batched_tokens) and a sequence limit (max_num_seqs).
 *
 * Order (vLLM v1 "no phases" scheduling): running sequences that decode one token first, oldest
 * first; then running sequences still prefilling, as chunks that fit what is left of the budget;
 * then waiting sequences (preempted ones before new ones, each group oldest first), also chunked.
 * A waiting sequence's chunk counts every uncomputed token; the kv-manager may report a prefix
 * hit, which makes the step compute fewer tokens than planned (never more).
 *
 * What it is not: block accounting (the kv-manager answers OUT_OF_BLOCKS and the scheduler
 * preempts) or the finish decision (Sequence).
 */
import type { Sequence } from './sequence';

export interface PlanLimits {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
}

export interface PlannedSequence {
  seq: Sequence;
  /** Tokens to compute in this step (>= 1). */
  numTokensToCompute: number;
  /** True when the sequence joins from the waiting queue (a new incarnation at the kv-manager). */
  isNew: boolean;
}

export function planStep(running: readonly Sequence[], waiting: readonly Sequence[], limits: PlanLimits): PlannedSequence[] {
  const plan: PlannedSequence[] = [];
  let budget = limits.maxNumBatchedTokens;
  const remaining = (s: Sequence) => s.numTokens - s.numComputedTokens;
  const byAge = (a: Sequence, b: Sequence) => a.arrival - b.arrival;
  const live = running.filter((s) => s.status === 'running' && !s.cancelled).sort(byAge);
  for (const seq of live) {
    if (remaining(seq) !== 1 || plan.length >= limits.maxNumSeqs || budget < 1) continue;
    plan.push({ seq, numTokensToCompute: 1, isNew: false });
    budget -= 1;
  }
  for (const seq of live) {
    if (remaining(seq) <= 1 || plan.length >= limits.maxNumSeqs || budget < 1) continue;
    const n = Math.min(remaining(seq), budget);
    plan.push({ seq, numTokensToCompute: n, isNew: false });
    budget -= n;
  }
  const ready = waiting.filter((s) => s.status === 'waiting' && !s.cancelled && s.isReady);
  const order = [...ready.filter((s) => s.numPreemptions > 0).sort(byAge), ...ready.filter((s) => s.numPreemptions === 0).sort(byAge)];
  for (const seq of order) {
    if (plan.length >= limits.maxNumSeqs || budget < 1) break;
    const n = Math.min(remaining(seq), budget);
    plan.push({ seq, numTokensToCompute: n, isNew: true });
    budget -= n;
  }
  return plan;
}
