/*
 * The scheduler's side of speculative decoding: how many lookahead slots a decoding sequence asks
 * the kv-manager for (the worker drafts and verifies up to that many tokens in the step), and the
 * bookkeeping of accepted drafts between steps. The worker's GetModelInfo says whether it
 * speculates and its K; the kv-manager grants the slots only when they fit.
 *
 *   step n:   AllocateSlots(new=[t], lookahead=K) -> Step(ids=[t], num_speculative_tokens=granted)
 *             <- token_id, next_token_ids (a accepted drafts + 1 more)
 *   step n+1: AllocateSlots(new=[d1..da, b], accepted_lookahead=a)   (their K/V is written; b is not)
 *
 * What this is not: drafting or verification (the worker), or slot accounting (the kv-manager).
 */
import type { PlannedSequence } from './planner';
import type { SchedulerStats } from './scheduler-options';
import type { Sequence } from './sequence';

/**
 * Lookahead slots for a sequence decoding one token: at most k, never more drafts than
 * max_tokens or the context can still take (the step yields the drafts plus one more token);
 * 0 for a sequence the worker would not let speculate (grammar, top logprobs, prompt logprobs,
 * pooling, trace).
 */
export function lookaheadFor(s: Sequence, k: number): number {
  if (k <= 0 || s.grammarEbnf || s.sampling.numTopLogprobs > 0 || s.promptLogprobsTop !== undefined || s.embedPooling || s.trace) return 0;
  const outputsLeft = s.rules.maxTokens - s.outputIds.length;
  const contextLeft = s.rules.maxContextTokens - s.numTokens;
  return Math.max(0, Math.min(k, outputsLeft - 1, contextLeft - 1));
}

/** A worker output's speculative part, as the scheduler reads it. */
export interface SpeculativeResult {
  nextTokenIds: number[];
  nextLogprobs: number[];
  numDraftTokens: number;
  numAcceptedDraftTokens: number;
}

/** Lookahead requests, accepted-draft reports and the draft counters of one scheduler. */
export class DraftBook {
  /** Drafts accepted in a sequence's last step, to report in its next AllocateSlots (by kv sequence id). */
  private readonly accepted = new Map<string, number>();

  constructor(private readonly k: number, private readonly stats: SchedulerStats) {}

  /** Lookahead slots per decoding sequence of the plan, within what is left of the step's token budget. */
  lookahead(plan: readonly PlannedSequence[], maxNumBatchedTokens: number): Map<Sequence, number> {
    const out = new Map<Sequence, number>();
    if (this.k <= 0) return out;
    let budget = maxNumBatchedTokens - plan.reduce((n, p) => n + p.numTokensToCompute, 0);
    for (const p of plan) {
      if (p.isNew || p.numTokensToCompute !== 1 || p.seq.numTokens - p.seq.numComputedTokens !== 1) continue;
      const n = Math.min(budget, lookaheadFor(p.seq, this.k));
      if (n <= 0) continue;
      out.set(p.seq, n);
      budget -= n;
    }
    return out;
  }

  /** Accepted drafts to report for the sequence (0 when none are pending). */
  acceptedOf(seqId: string): number {
    return this.accepted.get(seqId) ?? 0;
  }

  /** Lookahead tokens of the sequence whose K/V a step wrote (async scheduling's pipelined step), to report next time. */
  noteAccepted(seqId: string, n: number): void {
    this.accepted.set(seqId, n);
  }

  /** The report reached the kv-manager, or the incarnation is gone. */
  clear(seqId: string): void {
    this.accepted.delete(seqId);
  }

  /** Takes a step's further tokens; the accepted drafts' K/V is computed (the last token's is not). */
  apply(s: Sequence, spec: SpeculativeResult, onToken?: () => void): void {
    this.stats.numDraftTokens += spec.numDraftTokens;
    this.stats.numAcceptedDraftTokens += spec.numAcceptedDraftTokens;
    spec.nextTokenIds.forEach((t, i) => {
      if (s.status !== 'running') return; // finished on an earlier token: the rest is dropped with it
      this.stats.numSampledTokens++;
      s.accept(t, s.logprobs ? { tokenId: t, logprob: spec.nextLogprobs[i] ?? 0, top: [] } : undefined);
      onToken?.();
    });
    s.numComputedTokens += spec.numAcceptedDraftTokens;
    if (spec.numAcceptedDraftTokens > 0) this.accepted.set(s.seqId, spec.numAcceptedDraftTokens);
  }
}
