/*
 * The Scheduler's options (limits, ports, fault handling hooks) and its plain counters, which
 * the observability folder turns into Prometheus series.
 * What it is not: the loop (scheduler.ts).
 */
import type { SchedulerObserver } from './observer';
import type { KvPort, WorkerPort } from './ports';
import type { Sequence } from './sequence';
import type { FinishReason } from './types';

export interface SchedulerOptions {
  /** The worker's pool id at the kv-manager. */
  poolId: string;
  /** This scheduler's id (the kv-manager's owner / lease id). */
  ownerId: string;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  /** Most prefill tokens per step, whole prompts first come first served (planner.ts; 0 or unset: the step budget). */
  maxPrefillTokensPerStep?: number;
  /** Longest a running sequence's decode waits while prefills go first, in ms (planner.ts; 0 or unset: never). */
  maxDecodeDeferMs?: number;
  /** The clock of decode deferral, in ms (default performance.now; tests step it by hand). */
  clock?: () => number;
  kv: KvPort;
  worker: WorkerPort;
  /** Reports failures that are not any one request's (e.g. a Free that failed). */
  onError?: (err: unknown) => void;
  /** How long requests are held while a dependency is down before they fail (default 30 s). */
  dependencyWaitMs?: number;
  /** A dependency went down ('down', with what failed) or answers again ('up'): one call per change. */
  onDependency?: (state: 'down' | 'up', detail: string) => void;
  /** A sample finished (every finish reason; abort with the error when a failure ended it). */
  onFinished?: (seq: Sequence, reason: FinishReason, error?: Error) => void;
  /**
   * Renews this scheduler's lease at the kv-manager. Called before the first allocation after an
   * outage: a restarted kv-manager knows no lease, and blocks allocated under an owner without one
   * would never be freed if this scheduler died before its next periodic renewal.
   */
  renewLease?: () => Promise<void>;
  /** Told of every arrival, scheduling, token, preemption, finish and step (metrics, traces, logs). */
  observer?: SchedulerObserver;
  /** Speculative decoding: the most draft tokens the worker verifies per sequence per step (its GetModelInfo); 0 or unset: off. */
  numSpeculativeTokens?: number;
  /**
   * Async scheduling: when a step holds only decodes and nothing waits, send the next step right
   * behind it (the worker feeds each sequence the token it just sampled), so the worker never idles
   * while this scheduler streams tokens and asks the kv-manager for slots. Off with speculation.
   */
  asyncScheduling?: boolean;
}

export interface SchedulerStats {
  numSteps: number;
  numPreemptions: number;
  /** Tokens computed by the worker (prefill + decode). */
  numComputedTokens: number;
  /** Tokens sampled. */
  numSampledTokens: number;
  /** Sequences in the last step. */
  lastStepSequences: number;
  /** Tokens in the last step. */
  lastStepTokens: number;
  /** Samples finished, by finish reason (abort: cancelled, deadline or failed). */
  numFinished: Record<FinishReason, number>;
  /** Steps sent right behind another (async scheduling), and of those, how many failed (their sequences recompute). */
  numPipelinedSteps: number;
  numPipelinedFailures: number;
  /** Steps that failed because a dependency was down or had lost state. */
  numDependencyFailures: number;
  /** Speculative draft tokens the worker proposed, and of those, how many it accepted. */
  numDraftTokens: number;
  numAcceptedDraftTokens: number;
}
