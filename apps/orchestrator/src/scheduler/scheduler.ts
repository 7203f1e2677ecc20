/*
 * Scheduler: the continuous-batching loop. Each iteration plans one step (planner.ts), asks the
 * kv-manager for slots (slot-allocation.ts, committing the previous step's filled blocks in the
 * same call), runs the step on the worker, hands each sampled token to its Sequence (which decides
 * whether it finished) and frees finished, cancelled and preempted sequences (sequence-queues.ts).
 *
 *   loop: reap cancelled -> Free -> plan -> AllocateSlots(commit, seqs) --OUT_OF_BLOCKS--> preempt newest, retry
 *                                            -> Step(ids, positions, tables, sampling) -> accept tokens
 *
 * Preemption is by recompute (vLLM v1): the newest running sequence is freed on the kv-manager,
 * its worker state released, and it re-enters the waiting queue ahead of new requests as a new
 * incarnation that recomputes prompt + output (prefix-cache hits skip what is still cached).
 * A failed step (step-errors.ts): a request the worker refuses fails alone; when a dependency is
 * down or lost its state, every running sequence restarts the same way and the loop retries with
 * backoff, holding requests up to dependencyWaitMs before failing them with UNAVAILABLE.
 * Counter-based sampling makes restarted samples draw the tokens they would have drawn.
 *
 * Speculative decoding (speculation.ts): a decoding sequence asks for lookahead slots, the worker
 * drafts and verifies in the same step; the next AllocateSlots reports the accepted drafts.
 * Async scheduling (pipeline.ts): a decode-only step with nothing waiting has a second step sent
 * right behind it, whose tokens come back the way accepted drafts do; while nothing waits, each later
 * iteration sends the next such step before the one in flight answers (at most two in flight).
 * Internals traces: a step holding a traced sequence also asks for the pool map and trace parts
 * (step-trace.ts); other steps do no trace work.
 *
 * What it is not: request validation or text/proto formatting (generation.ts), nor a thread: one
 * async loop per scheduler drives one worker. Metrics, traces and logs watch it through `observer`.
 * Follows vLLM v1's Scheduler.schedule() and ARCHITECTURE.md's step protocol.
 */
import { Status } from '@llm/platform';
import { ServerError } from 'nice-grpc-common';
export type { SchedulerOptions, SchedulerStats } from './scheduler-options';
import type { StepResult } from './observer';
import { planStep, type PlannedSequence } from './planner';
import type { Sequence } from './sequence';
import { classifyStepError } from './step-errors';
import { Outage } from './outage';
import type { SchedulerOptions, SchedulerStats } from './scheduler-options';
import { recordStepTraces } from './step-trace';
import { DraftBook } from './speculation';
import { SequenceQueues } from './sequence-queues';
import { allocateSlots, type Allocation } from './slot-allocation';
import { pipelinedStepSequenceOf, stepSequenceOf, type Allocated, type StepOutput } from './step-sequence';
import { applyStepOutput } from './step-output';
import { applyPipelined, markPipelined, pipelineLookahead, pipelineStep, rollOn, sendBehind, type InFlight, type SendPipelined } from './pipeline';

export class Scheduler {
  readonly stats: SchedulerStats = {
    numSteps: 0, numPreemptions: 0, numComputedTokens: 0, numSampledTokens: 0, lastStepSequences: 0, lastStepTokens: 0,
    numFinished: { stop: 0, length: 0, abort: 0 }, numDependencyFailures: 0, numDraftTokens: 0, numAcceptedDraftTokens: 0, numPipelinedSteps: 0, numPipelinedFailures: 0,
  };
  private readonly drafts: DraftBook;
  private readonly queues: SequenceQueues;
  private lastStepIds: string[] = [];
  /** Async scheduling: the pipelined step sent and not yet answered (pipeline.ts). */
  private inflight: InFlight | undefined;
  private stepId = 0;
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private closed = false;
  /** Set while a dependency is down: since when, and how many retries so far. */
  private readonly outage: Outage;
  private pausing = false;
  /** A poke arrived while the loop was not waiting. */
  private poked = false;
  /** The last step placed fewer sequences than planned (no KV blocks): the next one decodes (planner.ts). */
  private decodeNow = false;
  private readonly now: () => number;

  get ownerId(): string {
    return this.opts.ownerId;
  }

  constructor(private readonly opts: SchedulerOptions) {
    this.now = opts.clock ?? (() => performance.now());
    this.drafts = new DraftBook(opts.numSpeculativeTokens ?? 0, this.stats);
    this.queues = new SequenceQueues(opts, this.stats, this.drafts);
    this.outage = new Outage(opts.dependencyWaitMs ?? 30_000, opts.onDependency);
    if (opts.maxNumBatchedTokens < opts.maxNumSeqs) {
      throw new RangeError(`maxNumBatchedTokens (${opts.maxNumBatchedTokens}) must be >= maxNumSeqs (${opts.maxNumSeqs}) so every running sequence can decode each step`);
    }
  }

  get numRunning(): number {
    return this.queues.running.length;
  }

  get numWaiting(): number {
    return this.queues.waiting.length;
  }

  /** Queues samples; the loop starts on first use. */
  add(seqs: readonly Sequence[]): void {
    if (this.closed) throw new ServerError(Status.UNAVAILABLE, 'the scheduler is shutting down; retry on another orchestrator');
    this.queues.enqueue(seqs.filter((s) => s.status !== 'finished'));
    this.queues.report();
    this.loopDone ??= this.opts.observer ? this.opts.observer.detached(() => this.loop()) : this.loop();
    this.poke();
  }

  /** Marks samples cancelled; the next step frees their blocks and ends them with 'abort'. */
  cancel(seqs: readonly Sequence[]): void {
    for (const s of seqs) s.cancelled = true;
    this.poke();
  }

  /** Stops the loop after the current step; unfinished samples end with UNAVAILABLE. */
  async close(): Promise<void> {
    this.closed = true;
    this.poke();
    await this.loopDone;
    this.queues.dropAll(new ServerError(Status.UNAVAILABLE, 'the orchestrator shut down before the request finished'));
    await this.queues.flushFrees();
  }

  private poke(): void {
    if (this.pausing && !this.closed) return; // a retry backoff ends early only for close()
    const w = this.wake;
    this.wake = undefined;
    if (w) w();
    else this.poked = true; // the loop is busy (in a call): it must look again before it sleeps
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.poked = false;
      this.queues.reapCancelled();
      await this.queues.flushFrees();
      const inflight = this.inflight;
      if (inflight) {
        // The step in flight's sequences still running are this iteration's plan (for the observer and a failure).
        const rolling = inflight.pair.filter((a) => a.seq.status === 'running').map((a) => ({ seq: a.seq, numTokensToCompute: 1, isNew: false }));
        await this.attempt(rolling, () => this.rollStep(inflight));
        continue;
      }
      const plan = planStep(this.queues.running, this.queues.waiting, this.opts, { now: this.now(), decodeNow: this.decodeNow });
      if (plan.length === 0) {
        if (this.closed) break; // close() may have poked while this iteration was awaiting
        if (this.poked) {
          // A cancel or new work arrived while this iteration was awaiting (a Free): reap and plan again.
          this.poked = false;
          continue;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      await this.attempt(plan, () => this.runStep(plan));
    }
  }

  /** Runs one step of `plan` (watched by the observer); a failure is a failed step of the plan's sequences. */
  private async attempt(plan: PlannedSequence[], step: () => Promise<StepResult>): Promise<void> {
    try {
      await (this.opts.observer ? this.opts.observer.step(plan, step) : step());
      this.outage.recovered();
    } catch (err) {
      await this.onStepError(plan, err);
    }
    this.queues.report();
  }

  /** Whether requests are being held because a dependency is down. */
  get dependencyDown(): boolean {
    return this.outage.down;
  }

  private async onStepError(plan: PlannedSequence[], err: unknown): Promise<void> {
    const failure = classifyStepError(err, plan.map((p) => p.seq.seqId));
    if (failure.type === 'fatal') return this.failStep(plan, err);
    if (failure.type === 'sequence') {
      const bad = plan.find((p) => p.seq.seqId === failure.seqId)!.seq;
      this.queues.drop(bad, new ServerError(Status.INVALID_ARGUMENT, failure.details));
      for (const p of plan) if (p.seq !== bad && p.seq.status === 'running') this.queues.restart(p.seq);
      this.queues.pruneWaiting();
      return;
    }
    this.stats.numDependencyFailures++;
    this.opts.observer?.dependencyFailure?.();
    // A new incarnation whose AllocateSlots failed on our side may exist at the kv-manager all the same.
    for (const p of plan) {
      if (!p.isNew || p.seq.status !== 'waiting' || p.seq.numTokensAtKv !== 0) continue;
      this.queues.freeLater(p.seq.seqId);
      p.seq.restart(); // a new id next time, so this Free can never hit a later allocation
    }
    for (const s of [...this.queues.running]) this.queues.restart(s);
    const { expired, delayMs } = this.outage.failed(`${Status[failure.code]}: ${failure.details}`);
    if (expired) this.queues.dropAll(expired);
    await this.pause(delayMs);
  }

  /** Sleeps, or less when close() or new work pokes the loop. */
  private pause(ms: number): Promise<void> {
    this.pausing = true;
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => this.wake?.(), ms);
      this.wake = () => (clearTimeout(t), (this.pausing = false), (this.wake = undefined), resolve());
    });
  }

  private async runStep(plan: PlannedSequence[]): Promise<StepResult> {
    const startedAt = performance.now();
    const pipeline = pipelineStep(plan, this.queues.waiting, this.opts);
    const { allocated, copies, poolMap, numPreempted } = await this.allocate(plan, pipeline);
    const allocatedAt = performance.now();
    this.decodeNow = allocated.length < plan.length;
    if (allocated.length === 0) {
      this.refuseUnfittable(plan);
      return { numSequences: 0, numTokens: 0 };
    }
    if (pipeline) markPipelined(allocated);
    const first = this.opts.worker.step({ stepId: ++this.stepId, sequences: allocated.map(stepSequenceOf), copies, releaseSeqIds: this.queues.takeReleases() });
    // Async scheduling: the next step goes right behind (every sequence got its slot), before this one answers.
    const behind = pipeline ? sendBehind(allocated, this.sendPipelined) : undefined;
    const res = await first;
    const stepMs = performance.now() - allocatedAt;
    const doneAt = this.now();
    for (const a of allocated) a.seq.computedAt = doneAt;
    this.lastStepIds = allocated.map((a) => a.seq.seqId);
    this.stats.numSteps++;
    this.stats.lastStepSequences = allocated.length;
    this.stats.lastStepTokens = 0;
    if (allocated.some((a) => a.seq.trace)) {
      recordStepTraces({ stepId: this.stepId, allocated, copies, poolMap, numPreempted, startedAt, allocateMs: allocatedAt - startedAt, stepMs, res });
    }
    allocated.forEach((a, i) => this.applyOutput(a, res.outputs[i]));
    this.queues.pruneRunning();
    this.inflight = behind; // the next iteration takes its tokens
    return { numSequences: allocated.length, numTokens: this.stats.lastStepTokens };
  }

  /**
   * The iteration after a pipelined step was sent: while nothing waits, the next pipelined step goes
   * to the worker before the one in flight answers (rolling; pipeline.ts), then the one in flight's
   * tokens are taken. A failure of either is a failed step of the sequences in flight.
   */
  private async rollStep(inflight: InFlight): Promise<StepResult> {
    this.inflight = undefined;
    const { next, reported } = await rollOn(inflight, { running: this.queues.running, waiting: this.queues.waiting, opts: this.opts, drafts: this.drafts, allocate: (roll) => this.allocate(roll, true), send: this.sendPipelined });
    try {
      await applyPipelined(inflight.pair, inflight.pending, { stats: this.stats, observer: this.opts.observer, drafts: this.drafts, apply: (a, out) => this.applyOutput(a, out), reported });
    } finally {
      this.queues.pruneRunning(); // also before a failed pipelined step reaches the loop
    }
    const t = this.now();
    for (const a of inflight.pair) a.seq.computedAt = t;
    this.lastStepIds = [...new Set([...this.lastStepIds, ...inflight.seqIds])]; // answered: the next AllocateSlots commits their filled blocks
    this.inflight = next;
    return { numSequences: inflight.pair.length, numTokens: 0, pipelinedTokens: inflight.pair.length };
  }

  /** Sends a pipelined step, with the worker-state releases due; awaited later, abandoned when the step before it fails (it then fails too). */
  private readonly sendPipelined: SendPipelined = (pair, copies) => {
    const pending = this.opts.worker.step({ stepId: ++this.stepId, sequences: pair.map(pipelinedStepSequenceOf), copies, releaseSeqIds: this.queues.takeReleases() });
    pending.catch(() => undefined);
    return pending;
  };

  private applyOutput(a: Allocated, out: StepOutput | undefined): void {
    applyStepOutput(a, out, { stats: this.stats, observer: this.opts.observer, drafts: this.drafts, done: (s) => this.queues.finish(s) });
  }

  /** AllocateSlots for the plan (slot-allocation.ts), with the lookahead slots of speculation or a pipelined plan. */
  private async allocate(plan: PlannedSequence[], pipeline = false): Promise<Allocation> {
    if (this.outage.down && this.opts.renewLease) await this.opts.renewLease();
    const commitSeqIds = this.lastStepIds;
    this.lastStepIds = [];
    const lookahead = pipeline ? new Map(plan.map((p) => [p.seq, pipelineLookahead(p.seq)])) : this.drafts.lookahead(plan, this.opts.maxNumBatchedTokens);
    return allocateSlots(plan, { kv: this.opts.kv, poolId: this.opts.poolId, ownerId: this.opts.ownerId, commitSeqIds, lookahead, drafts: this.drafts, queues: this.queues });
  }

  /** Nothing could be allocated: with nothing running, the first sample can never fit. */
  private refuseUnfittable(plan: PlannedSequence[]): void {
    if (this.queues.running.some((s) => s.status === 'running')) return;
    const s = plan[0].seq;
    this.queues.withdraw(s);
    this.queues.drop(s, new ServerError(Status.RESOURCE_EXHAUSTED, `request ${s.requestId} needs more KV-cache blocks than the worker's whole pool has (${s.numTokens} tokens); shorten the prompt or max_tokens`));
  }

  /** A kv-manager or worker call failed: the step's samples end with the error. */
  private failStep(plan: PlannedSequence[], err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.opts.onError?.(error);
    for (const p of plan) this.queues.drop(p.seq, error);
    this.queues.pruneRunning();
    this.queues.pruneWaiting();
  }
}
