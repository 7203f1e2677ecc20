/*
 * The scheduler's Prometheus metrics: vLLM's engine metrics under the `llm_` prefix (vllm:X ->
 * llm_X; README "Metrics" has the table), labelled as vLLM labels them, {model_name, engine}, where
 * engine is the worker's pool id this scheduler drives. Updated at each event the scheduler reports
 * (observer.ts), never on a timer, and only in a process that runs a scheduler: an api-role process
 * has none of these series rather than zeros.
 *
 *   gauges      llm_num_requests_running, llm_num_requests_waiting,
 *               llm_num_requests_preempted (waiting to resume after a preemption; vLLM's _swapped)
 *   counters    llm_num_preemptions_total, llm_prompt_tokens_total, llm_generation_tokens_total,
 *               llm_request_success_total{finished_reason},
 *               llm_scheduler_dependency_failures_total (this project's: steps failed for a dependency),
 *               llm_scheduler_pipelined_steps_total{outcome} (this project's: async scheduling's steps
 *               sent behind another, ok or failed),
 *               llm_spec_decode_num_draft_tokens_total, llm_spec_decode_num_accepted_tokens_total
 *               (speculative decoding; acceptance rate = accepted / draft)
 *   histograms  llm_request_prompt_tokens, llm_request_generation_tokens, llm_request_params_max_tokens,
 *               llm_iteration_tokens (vLLM's iteration_tokens_total), llm_inter_token_latency_seconds,
 *               llm_request_queue_time_seconds, llm_request_prefill_time_seconds,
 *               llm_request_decode_time_seconds, llm_request_inference_time_seconds,
 *               llm_scheduler_step_seconds (this project's)
 *
 * Intervals (one sample, this process's monotonic clock, as vLLM defines them): queue = arrival ->
 * first scheduled; prefill = first scheduled -> first token; decode = first -> last token;
 * inference = first scheduled -> last token; inter-token = between successive tokens. A preemption
 * lengthens whichever interval it falls in. Prompt tokens count once per request (sample 0), when its
 * prefill completes; a request re-delivered to another scheduler is counted by both.
 * What it is not: what the client sees (TTFT, end-to-end: api-metrics.ts) or the KV pool (kv-manager).
 */
import { buckets125, counter, gauge, histogram } from '@llm/platform';
import type { SchedulerObserver, StepResult } from '../scheduler/observer';
import type { PlannedSequence } from '../scheduler/planner';
import type { Sequence } from '../scheduler/sequence';

const LABELS = ['model_name', 'engine'];
const ITERATION_TOKENS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
const ITL_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
/** vLLM's request-latency buckets with finer ones below 0.3 s (small models answer in milliseconds). */
export const REQUEST_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
const STEP_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Times {
  arrived: number;
  scheduled?: number;
  firstToken?: number;
  lastToken?: number;
}

export interface SchedulerMetricsOptions {
  modelName: string;
  /** The worker pool this scheduler drives (vLLM's engine). */
  engine: string;
  /** Longest prompt + output (the token-count buckets go up to it). */
  maxModelLen: number;
  /** Seconds on a monotonic clock (default performance.now() / 1000). */
  now?: () => number;
}

function families(maxModelLen: number) {
  const lens = buckets125(Math.max(maxModelLen, 1));
  return {
    running: gauge('llm_num_requests_running', 'Requests (samples) in the running set of this scheduler.', LABELS),
    waiting: gauge('llm_num_requests_waiting', 'Requests (samples) waiting to be scheduled, preempted ones included.', LABELS),
    preempted: gauge('llm_num_requests_preempted', 'Waiting requests that were preempted and will be recomputed (vLLM: num_requests_swapped).', LABELS),
    preemptions: counter('llm_num_preemptions_total', 'Cumulative number of preemptions (recompute).', LABELS),
    promptTokens: counter('llm_prompt_tokens_total', 'Prompt tokens of requests whose prefill completed.', LABELS),
    generationTokens: counter('llm_generation_tokens_total', 'Generated (sampled) tokens.', LABELS),
    success: counter('llm_request_success_total', 'Finished requests (samples) by finish reason.', [...LABELS, 'finished_reason']),
    promptLen: histogram('llm_request_prompt_tokens', 'Prompt tokens per finished request.', LABELS, lens),
    generationLen: histogram('llm_request_generation_tokens', 'Generated tokens per finished request (sample).', LABELS, lens),
    maxTokens: histogram('llm_request_params_max_tokens', 'The max_tokens parameter of each request.', LABELS, lens),
    iterationTokens: histogram('llm_iteration_tokens', 'Tokens computed per worker step (vLLM: iteration_tokens_total); a pipelined pair of steps (async scheduling) counts as two.', LABELS, ITERATION_TOKENS),
    itl: histogram('llm_inter_token_latency_seconds', 'Time between two successive tokens of a sample (seconds).', LABELS, ITL_SECONDS),
    queue: histogram('llm_request_queue_time_seconds', 'Time from arrival at the scheduler to first scheduled (seconds).', LABELS, REQUEST_SECONDS),
    prefill: histogram('llm_request_prefill_time_seconds', 'Time from first scheduled to the first token (seconds).', LABELS, REQUEST_SECONDS),
    decode: histogram('llm_request_decode_time_seconds', 'Time from the first to the last token (seconds).', LABELS, REQUEST_SECONDS),
    inference: histogram('llm_request_inference_time_seconds', 'Time from first scheduled to the last token (seconds).', LABELS, REQUEST_SECONDS),
    draftTokens: counter('llm_spec_decode_num_draft_tokens_total', 'Speculative draft tokens the worker verified.', LABELS),
    acceptedTokens: counter('llm_spec_decode_num_accepted_tokens_total', 'Speculative draft tokens the worker accepted (acceptance rate = accepted / draft).', LABELS),
    pipelined: counter('llm_scheduler_pipelined_steps_total', 'Decode steps sent right behind the step before them (async scheduling), by outcome (failed: their samples recompute).', [...LABELS, 'outcome']),
    dependencyFailures: counter('llm_scheduler_dependency_failures_total', 'Steps that failed because the worker or kv-manager was down or had lost state (the samples are held and retried).', LABELS),
    step: histogram('llm_scheduler_step_seconds', 'One scheduler step: AllocateSlots, the worker Step (two with async scheduling) and applying its output (seconds).', LABELS, STEP_SECONDS),
  };
}

type Bound<T> = { [K in keyof T]: T[K] extends { labels(...v: string[]): infer C } ? C : never };

/** The metric part of the scheduler's observer; `detached` and `step` only time and run. */
export class SchedulerMetrics implements SchedulerObserver {
  private readonly m: Bound<Omit<ReturnType<typeof families>, 'success' | 'pipelined'>>;
  private readonly success: ReturnType<typeof families>['success'];
  private readonly pipelinedSteps: ReturnType<typeof families>['pipelined'];
  private readonly labels: string[];
  private readonly times = new WeakMap<Sequence, Times>();
  private readonly now: () => number;

  constructor(opts: SchedulerMetricsOptions) {
    this.labels = [opts.modelName, opts.engine];
    const f = families(opts.maxModelLen);
    this.success = f.success;
    this.pipelinedSteps = f.pipelined;
    const { success: _s, pipelined: _p, ...rest } = f;
    this.m = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, (v as { labels(...x: string[]): unknown }).labels(...this.labels)])) as never;
    this.now = opts.now ?? (() => performance.now() / 1000);
    for (const reason of ['stop', 'length', 'abort']) this.success.labels(...this.labels, reason).inc(0); // every reason shows, at 0
    for (const outcome of ['ok', 'failed']) this.pipelinedSteps.labels(...this.labels, outcome).inc(0);
    this.queues(0, 0, 0);
    this.m.generationTokens.inc(0);
    this.m.promptTokens.inc(0);
    this.m.preemptions.inc(0);
    this.m.dependencyFailures.inc(0);
    this.m.draftTokens.inc(0);
    this.m.acceptedTokens.inc(0);
  }

  drafts(_seq: Sequence, proposed: number, accepted: number): void {
    this.m.draftTokens.inc(proposed);
    this.m.acceptedTokens.inc(accepted);
  }

  dependencyFailure(): void {
    this.m.dependencyFailures.inc();
  }

  pipelined(ok: boolean): void {
    this.pipelinedSteps.labels(...this.labels, ok ? 'ok' : 'failed').inc();
  }

  added(seqs: readonly Sequence[]): void {
    const t = this.now();
    for (const s of seqs) {
      if (!this.times.has(s)) this.times.set(s, { arrived: t });
      if (s.sampleIndex === 0 && s.incarnation === 0) this.m.maxTokens.observe(s.rules.maxTokens);
    }
  }

  scheduled(seq: Sequence): void {
    const t = this.times.get(seq);
    if (t && t.scheduled === undefined) {
      t.scheduled = this.now();
      this.m.queue.observe(t.scheduled - t.arrived);
    }
  }

  preempted(_seq: Sequence): void {
    this.m.preemptions.inc();
  }

  token(seq: Sequence): void {
    const t = this.times.get(seq);
    const now = this.now();
    this.m.generationTokens.inc();
    if (!t) return;
    if (t.firstToken === undefined) {
      t.firstToken = now;
      if (seq.sampleIndex === 0) this.m.promptTokens.inc(seq.promptIds.length);
    } else if (t.lastToken !== undefined) {
      this.m.itl.observe(now - t.lastToken);
    }
    t.lastToken = now;
  }

  finished(seq: Sequence): void {
    const reason = seq.finishReason ?? 'abort';
    this.success.labels(...this.labels, reason).inc();
    const t = this.times.get(seq);
    this.times.delete(seq);
    if (reason === 'abort' || !t) return;
    if (seq.embedPooling) {
      this.m.promptTokens.inc(seq.promptIds.length);
      this.m.promptLen.observe(seq.promptIds.length);
      return;
    }
    if (seq.sampleIndex === 0) this.m.promptLen.observe(seq.promptIds.length);
    this.m.generationLen.observe(seq.outputIds.length);
    if (t.scheduled === undefined || t.firstToken === undefined || t.lastToken === undefined) return; // resumed already finished
    this.m.prefill.observe(t.firstToken - t.scheduled);
    this.m.decode.observe(t.lastToken - t.firstToken);
    this.m.inference.observe(t.lastToken - t.scheduled);
  }

  queues(numRunning: number, numWaiting: number, numPreemptedWaiting: number): void {
    this.m.running.set(numRunning);
    this.m.waiting.set(numWaiting);
    this.m.preempted.set(numPreemptedWaiting);
  }

  async step(_plan: readonly PlannedSequence[], run: () => Promise<StepResult>): Promise<StepResult> {
    const t0 = this.now();
    const out = await run();
    this.m.step.observe(this.now() - t0);
    if (out.numTokens > 0) this.m.iterationTokens.observe(out.numTokens);
    if (out.pipelinedTokens) this.m.iterationTokens.observe(out.pipelinedTokens); // the worker ran it as a step of its own
    return out;
  }

  detached<T>(run: () => T): T {
    return run();
  }
}
