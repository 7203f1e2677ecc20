/*
 * Async scheduling (vLLM's name; also "two steps in flight"): which steps the scheduler may pipeline.
 * A step whose sequences all decode one token gets one lookahead slot per sequence from the
 * kv-manager, and the scheduler sends a second step right behind it in which each sequence computes
 * the token the first step samples (the worker's use_previous_token) and samples the next. The worker
 * runs them back to back, so it does not wait while the scheduler streams the first step's tokens,
 * frees finished sequences and calls the kv-manager; the scheduler then takes both steps' tokens and
 * reports the second step's token as an accepted lookahead token in its next AllocateSlots (the same
 * path as an accepted speculative draft).
 *
 *   AllocateSlots(new=[t], lookahead=1) -> Step n (ids=[t])            -> samples t1
 *                                       -> Step n+1 (use_previous_token) -> computes t1, samples t2
 *   AllocateSlots(new=[t1, t2], accepted_lookahead=1) -> ...
 *
 * Pipelined only when nothing waits (a waiting request would join a step later than it could),
 * without speculative decoding (the worker's lookahead slots are then the drafts'), and for
 * sequences that can take two more tokens and carry no grammar (a finished structured output must not
 * run another masked step), trace or pooling. A sequence that finishes in step n (a stop string, EOS)
 * still computes in step n+1; that token is dropped with the sequence, as a rejected draft is.
 *
 * What this is not: the loop (scheduler.ts) or the planner: it decides, and takes the second step's tokens.
 */
import type { SchedulerObserver } from './observer';
import type { PlannedSequence } from './planner';
import type { SchedulerStats } from './scheduler-options';
import type { Sequence } from './sequence';
import type { DraftBook } from './speculation';
import type { Allocated, StepOutput } from './step-sequence';

/** Whether the sequence may run in a pipelined pair of steps (see the file comment). */
export function canPipeline(s: Sequence): boolean {
  if (s.grammarEbnf || s.trace || s.embedPooling || s.cancelled || s.status !== 'running') return false;
  return s.rules.maxTokens - s.outputIds.length >= 2 && s.rules.maxContextTokens - s.numTokens >= 2;
}

/** Whether to pipeline the step after `plan`: every planned sequence decodes one token and may pipeline, and no request is ready to join. */
export function pipelineStep(plan: readonly PlannedSequence[], waiting: readonly Sequence[], opts: { asyncScheduling?: boolean; numSpeculativeTokens?: number }): boolean {
  if (!opts.asyncScheduling || (opts.numSpeculativeTokens ?? 0) > 0 || plan.length === 0) return false;
  if (waiting.some((s) => s.status === 'waiting' && !s.cancelled && s.isReady)) return false;
  return plan.every((p) => !p.isNew && p.numTokensToCompute === 1 && p.seq.numTokens - p.seq.numComputedTokens === 1 && canPipeline(p.seq));
}

/**
 * The pipelined step's tokens: each sequence still running computed the token the first step
 * sampled, in its lookahead slot (reported as accepted in the next AllocateSlots), and sampled one
 * more, applied as any step output (`apply`). A failure is rethrown: the loop handles it as any
 * failed step (the plan's samples still running restart or fail by its status code).
 */
export async function applyPipelined(
  pair: Allocated[],
  pending: Promise<{ outputs: StepOutput[] }>,
  ctx: { stats: SchedulerStats; observer?: SchedulerObserver; drafts: DraftBook; apply: (a: Allocated, out: StepOutput | undefined) => void },
): Promise<void> {
  ctx.stats.numPipelinedSteps++;
  let res: { outputs: StepOutput[] };
  try {
    res = await pending;
  } catch (err) {
    ctx.stats.numPipelinedFailures++;
    ctx.observer?.pipelined?.(false);
    throw err;
  }
  ctx.stats.numSteps++;
  ctx.observer?.pipelined?.(true);
  pair.forEach((a, i) => {
    if (a.seq.status !== 'running' || a.seq.cancelled) return; // finished (or cancelled) after the first step: this token goes with it
    ctx.drafts.noteAccepted(a.seq.seqId, 1);
    ctx.apply({ ...a, start: a.start + a.count, count: 1 }, res.outputs[i]);
  });
}
