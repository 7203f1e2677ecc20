/*
 * What one sequence takes from the worker's answer to a step: prompt logprobs, the computed-token
 * count, a pooled embedding (which ends an embedding request), the sampled token (stop rules run in
 * Sequence.accept) and, with speculative decoding, the accepted drafts and the token after them.
 * What it is not: the step loop (scheduler.ts) or the worker call; `done` frees and reports a
 * finished sample (sequence-queues.ts's finish).
 */
import type { SchedulerObserver } from './observer';
import type { SchedulerStats } from './scheduler-options';
import type { Sequence } from './sequence';
import type { DraftBook } from './speculation';
import type { Allocated, StepOutput } from './step-sequence';

export interface StepOutputContext {
  stats: SchedulerStats;
  observer?: SchedulerObserver;
  drafts: DraftBook;
  /** The sample finished: free its blocks and worker state, report it. */
  done: (s: Sequence) => void;
}

export function applyStepOutput(a: Allocated, out: StepOutput | undefined, ctx: StepOutputContext): void {
  const s = a.seq;
  // Prompt logprobs of positions a.start + 1 ...: stored by position - 1 (a recompute overwrites them).
  (out?.promptLogprobs ?? []).forEach((e, k) => (s.promptLogprobs[a.start + k] = { tokenId: e.tokenId, logprob: e.logprob, top: e.topLogprobs.map((t) => ({ tokenId: t.tokenId, logprob: t.logprob })) }));
  s.workerHasState = true;
  s.numComputedTokens = a.start + a.count;
  ctx.stats.numComputedTokens += a.count;
  ctx.stats.lastStepTokens += a.count;
  if (s.embedPooling) {
    const bytes = out?.embeddingF32;
    if (bytes && bytes.length > 0 && !s.cancelled && s.status === 'running') {
      s.acceptEmbedding(new Float32Array(Uint8Array.from(bytes).buffer)); // little-endian f32 (C)
      ctx.done(s);
    }
    return;
  }
  if (!out?.sampled || s.cancelled || s.status !== 'running') return;
  ctx.stats.numSampledTokens++;
  s.accept(out.tokenId, s.logprobs ? { tokenId: out.tokenId, logprob: out.logprob, top: out.topLogprobs.map((t) => ({ tokenId: t.tokenId, logprob: t.logprob })) } : undefined);
  ctx.observer?.token(s);
  if (out.speculative) {
    ctx.observer?.drafts?.(s, out.speculative.numDraftTokens, out.speculative.numAcceptedDraftTokens);
    ctx.drafts.apply(s, out.speculative, () => ctx.observer?.token(s));
  }
  if (s.isFinished) ctx.done(s);
}
