/*
 * The scheduler's spans (only built when tracing is on; see libs/platform's tracing):
 *
 *   <the request's span: gRPC/HTTP intake, or the BullMQ consumer span in the scheduler role>
 *     └─ sequence            one per sample, arrival -> finish (events: scheduled, first_token,
 *          │                 preempted; attributes: prompt/output tokens, finish reason)
 *          └─ scheduler.step one per step, under the sequence of the step's first (oldest) sample,
 *               │            linked to every other sample's sequence span in the batch
 *               ├─ llm.kv.v1.KvManager/AllocateSlots   (client span here, server span in the kv-manager)
 *               └─ llm.worker.v1.Worker/Step           (... in the worker, and its Router/Dispatch calls)
 *
 * A step serves many requests, but its calls carry one trace context: the step is parented where
 * its first sample lives (a request sent alone owns every step it takes), and the others reach it
 * through links. Every request id of the batch travels as baggage (`llm.request_id`), so the
 * kv-manager's, worker's and router's spans name all the requests they worked for.
 * Tracing off: every hook returns at its first line (no span, no context).
 * What it is not: metrics (scheduler-metrics.ts) or the internals trace a client may ask for.
 */
import { activeContext, contextOf, endSpan, hasActiveSpan, runDetached, runInContext, startSpan, tracingEnabled, withRequestIds, type Context, type Span } from '@llm/platform';
import type { SchedulerObserver, StepResult } from '../scheduler/observer';
import type { PlannedSequence } from '../scheduler/planner';
import type { Sequence } from '../scheduler/sequence';

/** At most this many request ids ride in a step's baggage (a step has at most max_num_seqs samples). */
const MAX_BAGGAGE_IDS = 64;

interface Traced {
  span: Span;
  ctx: Context;
  tokens: number;
}

export class SchedulerTracing implements SchedulerObserver {
  private readonly traced = new WeakMap<Sequence, Traced>();
  /** Sequences with a span now: while 0, the per-token hooks return at once. */
  private live = 0;

  constructor(private readonly engine: string) {}

  added(seqs: readonly Sequence[]): void {
    if (!hasActiveSpan()) return; // tracing off, or not inside a traced request
    const parent = activeContext() as Context;
    for (const s of seqs) {
      if (this.traced.has(s)) continue;
      const span = startSpan('sequence', {
        parent,
        attributes: { 'llm.request_id': s.publicRequestId, 'llm.seq_id': s.seqId, 'llm.sample_index': s.sampleIndex, 'llm.prompt_tokens': s.promptIds.length, 'llm.engine': this.engine },
      });
      if (!span) continue;
      this.traced.set(s, { span, ctx: contextOf(span, parent) as Context, tokens: 0 });
      this.live++;
    }
  }

  scheduled(seq: Sequence): void {
    if (this.live === 0) return;
    this.traced.get(seq)?.span.addEvent('scheduled', { 'llm.seq_id': seq.seqId });
  }

  preempted(seq: Sequence): void {
    if (this.live === 0) return;
    this.traced.get(seq)?.span.addEvent('preempted');
  }

  token(seq: Sequence): void {
    if (this.live === 0) return;
    const t = this.traced.get(seq);
    if (t && t.tokens++ === 0) t.span.addEvent('first_token');
  }

  finished(seq: Sequence): void {
    if (this.live === 0) return;
    const t = this.traced.get(seq);
    if (!t) return;
    this.traced.delete(seq);
    this.live--;
    endSpan(t.span, undefined, {
      'llm.finish_reason': seq.finishReason ?? 'abort',
      'llm.output_tokens': seq.outputIds.length,
      'llm.cached_prompt_tokens': seq.numCachedPromptTokens,
      'llm.preemptions': seq.numPreemptions,
    });
  }

  queues(): void {}

  async step(plan: readonly PlannedSequence[], run: () => Promise<StepResult>): Promise<StepResult> {
    if (this.live === 0 || !tracingEnabled()) return run();
    const owner = plan.map((p) => this.traced.get(p.seq)).find((t) => t !== undefined);
    if (!owner) return runDetached(run);
    const links = plan.map((p) => this.traced.get(p.seq)).filter((t): t is Traced => t !== undefined && t !== owner).map((t) => ({ context: t.span.spanContext() }));
    const ids = [...new Set(plan.map((p) => p.seq.publicRequestId))];
    const span = startSpan('scheduler.step', {
      parent: owner.ctx,
      links,
      attributes: { 'llm.request_id': ids.join(','), 'llm.step.num_sequences': plan.length, 'llm.step.planned_tokens': plan.reduce((a, p) => a + p.numTokensToCompute, 0), 'llm.engine': this.engine },
    });
    const ctx = withRequestIds(contextOf(span, owner.ctx) as Context, ids.slice(0, MAX_BAGGAGE_IDS));
    try {
      const out = await runInContext(ctx, run);
      endSpan(span, undefined, { 'llm.step.computed_tokens': out.numTokens });
      return out;
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
  }

  detached<T>(run: () => T): T {
    return runDetached(run);
  }
}
