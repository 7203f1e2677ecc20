/*
 * The scheduler's observer as the orchestrator builds it: metrics always, spans when tracing is on,
 * and debug log lines (request id, sequence id, worker id) per preemption and finish; composed into
 * the one SchedulerObserver the scheduler takes (the steps nest: metrics time the traced step).
 * What it is not: any of the parts (scheduler-metrics.ts, scheduler-tracing.ts).
 */
import { createLogger, type Logger } from '@llm/platform';
import type { SchedulerObserver, StepResult } from '../scheduler/observer';
import type { PlannedSequence } from '../scheduler/planner';
import type { Sequence } from '../scheduler/sequence';
import { SchedulerMetrics, type SchedulerMetricsOptions } from './scheduler-metrics';
import { SchedulerTracing } from './scheduler-tracing';

/** Debug lines for the events of one sample, each naming its request, sequence and worker. */
class SchedulerLog implements SchedulerObserver {
  private readonly log: Logger;
  constructor(private readonly workerId: string) {
    this.log = createLogger('scheduler');
  }
  private fields(s: Sequence) {
    return { requestId: s.publicRequestId, seqId: s.seqId, workerId: this.workerId };
  }
  added(): void {}
  scheduled(): void {}
  token(): void {}
  queues(): void {}
  preempted(s: Sequence): void {
    if (this.log.isLevelEnabled('debug')) this.log.debug(this.fields(s), 'sequence preempted (recompute)');
  }
  finished(s: Sequence): void {
    if (!this.log.isLevelEnabled('debug')) return;
    this.log.debug({ ...this.fields(s), finishReason: s.finishReason, promptTokens: s.promptIds.length, outputTokens: s.outputIds.length, preemptions: s.numPreemptions }, 'sequence finished');
  }
  step(_plan: readonly PlannedSequence[], run: () => Promise<StepResult>): Promise<StepResult> {
    return run();
  }
  detached<T>(run: () => T): T {
    return run();
  }
}

/** Calls every part in order; steps and the detached loop nest (the first part outermost). */
export function composeObservers(parts: SchedulerObserver[]): SchedulerObserver {
  return {
    added: (seqs) => parts.forEach((p) => p.added(seqs)),
    scheduled: (s) => parts.forEach((p) => p.scheduled(s)),
    preempted: (s) => parts.forEach((p) => p.preempted(s)),
    token: (s) => parts.forEach((p) => p.token(s)),
    finished: (s) => parts.forEach((p) => p.finished(s)),
    queues: (r, w, pr) => parts.forEach((p) => p.queues(r, w, pr)),
    dependencyFailure: () => parts.forEach((p) => p.dependencyFailure?.()),
    drafts: (s, proposed, accepted) => parts.forEach((p) => p.drafts?.(s, proposed, accepted)),
    pipelined: (ok) => parts.forEach((p) => p.pipelined?.(ok)),
    step: (plan, run) => parts.reduceRight<() => Promise<StepResult>>((inner, p) => () => p.step(plan, inner), run)(),
    detached: <T>(run: () => T) => parts.reduceRight<() => T>((inner, p) => () => p.detached(inner), run)(),
  };
}

/** Metrics, then spans (each hook does nothing while tracing is off), then debug logs. */
export function schedulerObserver(opts: SchedulerMetricsOptions): SchedulerObserver {
  return composeObservers([new SchedulerMetrics(opts), new SchedulerTracing(opts.engine), new SchedulerLog(opts.engine)]);
}
