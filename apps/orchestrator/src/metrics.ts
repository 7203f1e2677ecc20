/*
 * Prometheus metrics of the orchestrator, refreshed from the scheduler's plain counters when
 * /metrics is scraped (the scheduler core stays free of prom-client).
 * What it is not: per-request tracing.
 */
import { counter, gauge } from '@llm/platform';
import type { Scheduler, SchedulerStats } from './scheduler/scheduler';

const running = gauge('llm_orchestrator_running_sequences', 'sequences in the running set');
const waiting = gauge('llm_orchestrator_waiting_sequences', 'sequences waiting for a step (new or preempted)');
const steps = counter('llm_orchestrator_steps_total', 'scheduler steps run');
const preemptions = counter('llm_orchestrator_preemptions_total', 'sequences preempted by recompute');
const computed = counter('llm_orchestrator_computed_tokens_total', 'tokens computed by the worker (prefill + decode)');
const sampled = counter('llm_orchestrator_generated_tokens_total', 'tokens sampled');
const finished = counter('llm_orchestrator_finished_sequences_total', 'samples finished, by finish reason (abort: cancelled, deadline or failed)', ['finish_reason']);
const drafts = counter('llm_orchestrator_draft_tokens_total', 'speculative draft tokens the worker proposed');
const acceptedDrafts = counter('llm_orchestrator_accepted_draft_tokens_total', 'speculative draft tokens the worker accepted (acceptance rate = accepted / draft)');
const dependencyFailures = counter('llm_orchestrator_dependency_failures_total', 'steps that failed because the worker or kv-manager was down or had lost state');

const last = new WeakMap<Scheduler, SchedulerStats>();

export function refreshMetrics(scheduler: Scheduler | undefined): void {
  if (!scheduler) return;
  running.set(scheduler.numRunning);
  waiting.set(scheduler.numWaiting);
  const prev = last.get(scheduler) ?? {
    numSteps: 0, numPreemptions: 0, numComputedTokens: 0, numSampledTokens: 0, lastStepSequences: 0, lastStepTokens: 0,
    numFinished: { stop: 0, length: 0, abort: 0 }, numDependencyFailures: 0, numDraftTokens: 0, numAcceptedDraftTokens: 0,
  };
  const s = scheduler.stats;
  for (const reason of ['stop', 'length', 'abort'] as const) finished.inc({ finish_reason: reason }, s.numFinished[reason] - prev.numFinished[reason]);
  dependencyFailures.inc(s.numDependencyFailures - prev.numDependencyFailures);
  steps.inc(s.numSteps - prev.numSteps);
  preemptions.inc(s.numPreemptions - prev.numPreemptions);
  computed.inc(s.numComputedTokens - prev.numComputedTokens);
  sampled.inc(s.numSampledTokens - prev.numSampledTokens);
  drafts.inc(s.numDraftTokens - prev.numDraftTokens);
  acceptedDrafts.inc(s.numAcceptedDraftTokens - prev.numAcceptedDraftTokens);
  last.set(scheduler, { ...s, numFinished: { ...s.numFinished } });
}
