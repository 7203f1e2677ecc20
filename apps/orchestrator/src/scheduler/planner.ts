/*
 * planStep: which sequences go into the next step and how many tokens each computes, under a
 * per-step token budget (max_num_batched_tokens), a per-step prefill budget
 * (max_prefill_tokens_per_step) and a sequence limit (max_num_seqs).
 *
 * Order (vLLM v1 "no phases" scheduling): running sequences that decode one token first, oldest
 * first; then running sequences still prefilling, as chunks that fit what is left of the budget;
 * then waiting sequences (preempted ones before new ones, each group oldest first), also chunked.
 * A waiting sequence's chunk counts every uncomputed token; the kv-manager may report a prefix
 * hit, which makes the step compute fewer tokens than planned (never more).
 *
 * Bursts (both off when their limit is 0 or absent, which is the v1 behaviour above):
 * - prefill budget: prefill chunks of one step share at most maxPrefillTokensPerStep tokens (the
 *   size a CPU prefills efficiently), taken first come, first served as whole prompts; a prompt is
 *   chunked only when it comes first and alone exceeds what is left. A prompt that does not fit
 *   ends the step's prefills (no later, shorter prompt jumps the queue).
 * - decode deferral (vLLM v0's prefill-first, bounded): while prefills are waiting, running
 *   sequences skip their decode, so the burst's prompts reach their first token one group after
 *   the other without a decode run in every step. Once any of them has waited maxDecodeDeferMs
 *   since the worker last computed it (Sequence.computedAt), all decodes join the step. A step
 *   whose prefills found no KV blocks sets `decodeNow` for the next plan: only finishing
 *   sequences can free blocks, so deferring then would stall.
 * With nothing waiting to prefill, the plan is the v1 plan: deferral never slows steady decode.
 *
 * What it is not: block accounting (the kv-manager answers OUT_OF_BLOCKS and the scheduler
 * preempts) or the finish decision (Sequence).
 */
import type { Sequence } from './sequence';

export interface PlanLimits {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  /** Most prefill tokens in one step, whole prompts first come first served (0 or absent: the step budget, chunking the last prompt to fill it). */
  maxPrefillTokensPerStep?: number;
  /** Longest a running sequence's decode waits while prefills go first, in ms (0 or absent: decodes join every step). */
  maxDecodeDeferMs?: number;
}

/** What the plan needs to know about time and the previous step (decode deferral). */
export interface PlanClock {
  /** The scheduler's clock (performance.now()), the same one as Sequence.computedAt. */
  now: number;
  /** Decode every running sequence this step (the previous step's prefills found no KV blocks). */
  decodeNow?: boolean;
}

export interface PlannedSequence {
  seq: Sequence;
  /** Tokens to compute in this step (>= 1). */
  numTokensToCompute: number;
  /** True when the sequence joins from the waiting queue (a new incarnation at the kv-manager). */
  isNew: boolean;
}

const remaining = (s: Sequence) => s.numTokens - s.numComputedTokens;
const byAge = (a: Sequence, b: Sequence) => a.arrival - b.arrival;

export function planStep(running: readonly Sequence[], waiting: readonly Sequence[], limits: PlanLimits, clock: PlanClock = { now: 0 }): PlannedSequence[] {
  const plan: PlannedSequence[] = [];
  let budget = limits.maxNumBatchedTokens;
  const live = running.filter((s) => s.status === 'running' && !s.cancelled).sort(byAge);
  const decoding = live.filter((s) => remaining(s) === 1);
  const prefilling = live.filter((s) => remaining(s) > 1);
  const ready = waiting.filter((s) => s.status === 'waiting' && !s.cancelled && s.isReady);
  const order = [...ready.filter((s) => s.numPreemptions > 0).sort(byAge), ...ready.filter((s) => s.numPreemptions === 0).sort(byAge)];
  if (!deferDecodes(decoding, prefilling.length + order.length > 0, limits, clock)) {
    for (const seq of decoding) {
      if (plan.length >= limits.maxNumSeqs || budget < 1) break;
      plan.push({ seq, numTokensToCompute: 1, isNew: false });
      budget -= 1;
    }
  }
  const wholePrompts = (limits.maxPrefillTokensPerStep ?? 0) > 0;
  let prefillBudget = wholePrompts ? Math.min(budget, limits.maxPrefillTokensPerStep!) : budget;
  let numPrefills = 0;
  for (const [seq, isNew] of [...prefilling.map((s) => [s, false] as const), ...order.map((s) => [s, true] as const)]) {
    if (plan.length >= limits.maxNumSeqs || prefillBudget < 1) break;
    if (wholePrompts && numPrefills > 0 && remaining(seq) > prefillBudget) break;
    const n = Math.min(remaining(seq), prefillBudget);
    plan.push({ seq, numTokensToCompute: n, isNew });
    prefillBudget -= n;
    numPrefills++;
  }
  return plan;
}

/** Whether this step's decodes wait: prefills are pending and no decode has waited its limit. */
function deferDecodes(decoding: readonly Sequence[], prefillPending: boolean, limits: PlanLimits, clock: PlanClock): boolean {
  const limit = limits.maxDecodeDeferMs ?? 0;
  if (limit <= 0 || !prefillPending || clock.decodeNow || decoding.length === 0) return false;
  return decoding.every((s) => clock.now - s.computedAt < limit);
}
