/*
 * Async scheduling (vLLM's name; also "two steps in flight"): which steps the scheduler may pipeline.
 * A step whose sequences all decode one token gets lookahead slots (up to PIPELINE_LOOKAHEAD per
 * sequence, never past its max_tokens or context) from the kv-manager, and the scheduler sends a
 * second step right behind it in which each sequence computes, in its first lookahead slot, the token
 * the first step samples (the worker's use_previous_token) and samples the next. The second step then
 * stays in flight while the scheduler streams the first step's tokens and, as long as nothing waits,
 * rolls on: it sends the next use_previous_token step, into the next lookahead slot, behind the one in
 * flight before that one answers. So the worker always has the next step queued and never waits
 * while the scheduler streams tokens, frees finished sequences or calls the kv-manager. When a
 * sequence has used its slots, the scheduler asks again, reporting the tokens learnt meanwhile as
 * accepted lookahead tokens (all known by then; the last is being computed), so the kv-manager is
 * called about once per PIPELINE_LOOKAHEAD steps. The worker runs steps in the order sent, so a
 * step's K/V is written before any later step reads it; blocks are committed for prefix caching
 * only once the steps that filled them have answered (the next AllocateSlots commits those).
 *
 *   AllocateSlots(new=[t], lookahead=L)    -> Step n   (ids=[t])                    -> samples t1
 *                                          -> Step n+1 (use_previous_token, slot 1) -> computes t1, samples t2
 *   (Step n answers: t1 known, n+1 still running)
 *                                          -> Step n+2 (use_previous_token, slot 2) -> computes t2, samples t3
 *   ... until the slots run out, then one AllocateSlots for the tokens learnt meanwhile:
 *   AllocateSlots(new=[t1 .. tL], accepted=L, lookahead=L) -> Step (use_previous_token, slot 1) -> ...
 *   When a request waits, the scheduler lets the step in flight answer and plans as usual:
 *   AllocateSlots(new=[t1 .. tk, tk+1], accepted=k) -> ...   (the unused slots are dropped)

 * Pipelined only when nothing waits (a waiting request would join a step later than it could),
 * without speculative decoding (the worker's lookahead slots are then the drafts'), and for
 * sequences that can take two more tokens and carry no grammar (a finished structured output must not
 * run another masked step), trace or pooling. A sequence that finishes in step n (a stop string, EOS)
 * still computes in step n+1; that token is dropped with the sequence, as a rejected draft is.
 *
 * What this is not: the loop (scheduler.ts), the planner, the kv-manager or worker calls themselves
 * (the scheduler passes them in): it decides which steps pipeline, which slot each one computes, sends
 * them through the scheduler and takes their tokens. Follows vLLM v1's async scheduling.
 */
import type { kv } from '@llm/proto';
import type { SchedulerObserver } from './observer';
import type { PlannedSequence } from './planner';
import type { SchedulerStats } from './scheduler-options';
import type { Sequence } from './sequence';
import type { DraftBook } from './speculation';
import type { Allocated, StepOutput } from './step-sequence';

/** Lookahead slots asked for per sequence by an AllocateSlots while pipelining (one AllocateSlots per this many steps). */
export const PIPELINE_LOOKAHEAD = 4;

/** The lookahead slots to ask for: PIPELINE_LOOKAHEAD, fewer near max_tokens or the context limit (>= 1 when canPipeline). */
export function pipelineLookahead(s: Sequence): number {
  return Math.max(1, Math.min(PIPELINE_LOOKAHEAD, s.rules.maxTokens - s.outputIds.length - 1, s.rules.maxContextTokens - s.numTokens - 1));
}

/** The next pipelined step of a sequence in the same allocation's next lookahead slot, or undefined when it has used them all. */
export function nextSlot(a: Allocated): Allocated | undefined {
  const slot = a.slot ?? 1;
  if (slot >= a.lookahead) return undefined;
  return { ...a, start: a.start + a.count + 1, count: 0, slot: slot + 1 };
}

/** The step's sequences compute their lookahead slots in the steps sent behind it, starting with slot 1. */
export function markPipelined(allocated: readonly Allocated[]): void {
  for (const a of allocated) {
    a.pipelined = true;
    a.slot = 1;
  }
}

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

/** A pipelined step sent but not yet answered: its sequences (their lookahead slot) and the ids they had when it was sent. */
export interface InFlight {
  pair: Allocated[];
  seqIds: string[];
  pending: Promise<{ outputs: StepOutput[] }>;
}

/** Sends a pipelined step of `pair` to the worker (the scheduler's call, with its step id and pending releases). */
export type SendPipelined = (pair: Allocated[], copies: kv.BlockCopy[]) => Promise<{ outputs: StepOutput[] }>;

/**
 * The step sent right behind a pipelined step's first step, before that one answers: undefined
 * unless every sequence got its lookahead slot. It becomes the step in flight once the first
 * step's tokens are in (abandoned, as it then fails too, when the first step fails).
 */
export function sendBehind(allocated: Allocated[], send: SendPipelined): InFlight | undefined {
  if (!allocated.every((a) => a.lookahead >= 1)) return undefined;
  return { pair: allocated, seqIds: allocated.map((a) => a.seq.seqId), pending: send(allocated, []) };
}

/**
 * The sequences of the step in flight that roll on into the next pipelined step, or none: rolling
 * needs the same conditions as pipelineStep, with every running sequence in the step in flight (the
 * planner does not run while rolling, so none may be left out). A sequence of the step in flight
 * that cannot pipeline any more has room for exactly the token in flight: it finishes with it.
 */
export function rollingPlan(inflight: readonly Allocated[], running: readonly Sequence[], waiting: readonly Sequence[], opts: { asyncScheduling?: boolean; numSpeculativeTokens?: number }): PlannedSequence[] {
  if (!opts.asyncScheduling || (opts.numSpeculativeTokens ?? 0) > 0) return [];
  if (waiting.some((s) => s.status === 'waiting' && !s.cancelled && s.isReady)) return [];
  const members = new Set(inflight.map((a) => a.seq));
  if (running.some((s) => s.status === 'running' && !s.cancelled && !members.has(s))) return [];
  return inflight.filter((a) => canPipeline(a.seq)).map((a) => ({ seq: a.seq, numTokensToCompute: 1, isNew: false }));
}

/** What rolling on needs from the scheduler: its queues, AllocateSlots for lookahead slots, and the worker. */
export interface RollContext {
  running: readonly Sequence[];
  waiting: readonly Sequence[];
  opts: { asyncScheduling?: boolean; numSpeculativeTokens?: number };
  drafts: DraftBook;
  /** AllocateSlots for a rolling plan, asking for lookahead slots (pipelineLookahead). */
  allocate: (plan: PlannedSequence[]) => Promise<{ allocated: Allocated[]; copies: kv.BlockCopy[] }>;
  send: SendPipelined;
}

/**
 * Rolling on, while the step `inflight` is still computing: when rollingPlan allows, sends the next
 * pipelined step behind it, into each sequence's next lookahead slot, or, once one has used them
 * all, into the slots of a new AllocateSlots that reports the tokens of the slots used so far as
 * accepted (known by now; the last one is being computed). Returns the new step in flight (none
 * when rolling stops) and the sequences whose accepted slots that AllocateSlots already reported.
 */
export async function rollOn(inflight: InFlight, ctx: RollContext): Promise<{ next: InFlight | undefined; reported: ReadonlySet<Sequence> }> {
  const roll = rollingPlan(inflight.pair, ctx.running, ctx.waiting, ctx.opts);
  if (roll.length === 0) return { next: undefined, reported: new Set() };
  const inFlightOf = new Map(inflight.pair.map((a) => [a.seq, a]));
  const spare = roll.map((p) => nextSlot(inFlightOf.get(p.seq) as Allocated));
  let reported = new Set<Sequence>();
  let pair: Allocated[];
  let copies: kv.BlockCopy[] = [];
  if (spare.every((a) => a !== undefined)) {
    pair = spare as Allocated[]; // every sequence has a lookahead slot left: no AllocateSlots this step
  } else {
    for (const p of roll) ctx.drafts.noteAccepted(p.seq.seqId, (inFlightOf.get(p.seq) as Allocated).slot ?? 1);
    const res = await ctx.allocate(roll);
    reported = new Set(res.allocated.map((a) => a.seq));
    pair = res.allocated.filter((a) => a.lookahead >= 1 && a.count === 0);
    markPipelined(pair);
    copies = res.copies;
  }
  if (pair.length === 0) return { next: undefined, reported };
  return { next: { pair, seqIds: pair.map((a) => a.seq.seqId), pending: ctx.send(pair, copies) }, reported };
}

/** What taking a pipelined step's tokens needs: `apply` applies one output as any step's (step-output.ts). */
export interface PipelinedContext {
  stats: SchedulerStats;
  observer?: SchedulerObserver;
  drafts: DraftBook;
  apply: (a: Allocated, out: StepOutput | undefined) => void;
  reported?: ReadonlySet<Sequence>;
}

/**
 * The pipelined step's tokens: each sequence still running computed the token the first step
 * sampled, in its lookahead slot (reported as accepted in the next AllocateSlots), and sampled one
 * more, applied as any step output (`apply`). The lookahead slots used up to this step are noted as
 * accepted for the next AllocateSlots unless a rolling AllocateSlots already reported them (`reported`). A failure is rethrown: the loop handles it as any
 * failed step (the plan's samples still running restart or fail by its status code).
 */
export async function applyPipelined(
  pair: Allocated[],
  pending: Promise<{ outputs: StepOutput[] }>,
  ctx: PipelinedContext,
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
    if (!ctx.reported?.has(a.seq)) ctx.drafts.noteAccepted(a.seq.seqId, a.slot ?? 1); // the slots used so far hold known tokens
    ctx.apply({ ...a, start: a.start + a.count, count: 1 }, res.outputs[i]);
  });
}
