/*
 * SchedulerObserver: what the scheduler tells its watchers (metrics, traces, logs), at the event.
 * The scheduler core stays free of prom-client and OpenTelemetry: it calls these hooks; the
 * orchestrator's observability folder implements them. Every hook is optional to implement
 * through `step` and `detached` (which must run what they are given).
 *
 *   added ──> scheduled ──> token, token, ... ──> finished(stop | length | abort)
 *                 ^   │
 *                 └── preempted (recompute: back to waiting, scheduled again later)
 *
 * What it is not: a second source of truth. The hooks read the Sequence (its ids, tokens and
 * finish reason); they never change it.
 */
import type { PlannedSequence } from './planner';
import type { Sequence } from './sequence';

/** What one step did. */
export interface StepResult {
  /** Sequences the worker computed. */
  numSequences: number;
  /** Tokens the worker computed (prompt chunks + decodes). */
  numTokens: number;
  /** Async scheduling: tokens the worker computed in the step pipelined behind this one (absent: none ran). */
  pipelinedTokens?: number;
}

export interface SchedulerObserver {
  /** Samples handed to the scheduler (their arrival). */
  added(seqs: readonly Sequence[]): void;
  /** A sample entered the running set (again, after a preemption). */
  scheduled(seq: Sequence): void;
  /** A running sample gave its blocks back to be recomputed later. */
  preempted(seq: Sequence): void;
  /** A sampled token was accepted (seq.outputIds ends with it). */
  token(seq: Sequence): void;
  /** A sample finished; seq.finishReason says how. */
  finished(seq: Sequence): void;
  /** After the queues changed: running, waiting, and waiting after a preemption. */
  queues(numRunning: number, numWaiting: number, numPreemptedWaiting: number): void;
  /** A step verified `proposed` speculative draft tokens of the sample and kept `accepted` of them (its tokens follow as token()). */
  drafts?(seq: Sequence, proposed: number, accepted: number): void;
  /** A step failed because the worker or kv-manager was down or had lost state (its samples are held and retried). */
  dependencyFailure?(): void;
  /** A step ran pipelined behind the one before it (async scheduling); `ok` false: it failed and its samples recompute. */
  pipelined?(ok: boolean): void;
  /** Runs one step (timing, a span around its kv-manager and worker calls). */
  step(plan: readonly PlannedSequence[], run: () => Promise<StepResult>): Promise<StepResult>;
  /** Runs the scheduling loop apart from the request whose arrival started it. */
  detached<T>(run: () => T): T;
}
