/*
 * The scheduler's sequences: the waiting queue, the running batch, and the moves between them
 * (admitted by a first allocation; restarted or preempted back to the head of the waiting queue to
 * recompute; finished or dropped out of both), with what a sequence it lets go of still holds: kv
 * blocks to Free at the kv-manager (flushed before the next plan, kept while it is unreachable)
 * and worker state to release (sent with the next step).
 *
 *   add -> waiting --admit--> running --finish, drop--> gone (Free its blocks, release its worker state)
 *             ^                   |
 *             +--restart, preempt-+   (to the head of the queue, as a new incarnation)
 *
 * What it is not: the plan (planner.ts), the loop or the calls to the kv-manager and worker
 * (scheduler.ts) or the finish decision (Sequence). Follows vLLM v1's Scheduler.waiting/running and
 * its preemption by recompute.
 */
import type { Sequence } from './sequence';
import type { SchedulerOptions, SchedulerStats } from './scheduler-options';
import type { DraftBook } from './speculation';
import { freeSequences } from './kv-frees';

export class SequenceQueues {
  private runningSeqs: Sequence[] = [];
  private waitingSeqs: Sequence[] = [];
  private toFree: string[] = [];
  private toRelease: string[] = [];

  constructor(
    private readonly opts: SchedulerOptions,
    private readonly stats: SchedulerStats,
    private readonly drafts: DraftBook,
  ) {}

  /** The running batch, in the order its sequences were admitted (the planner sorts by arrival). */
  get running(): readonly Sequence[] {
    return this.runningSeqs;
  }

  /** The waiting queue: restarted and preempted sequences at its head, new samples at its end. */
  get waiting(): readonly Sequence[] {
    return this.waitingSeqs;
  }

  /** New samples join the end of the waiting queue. */
  enqueue(seqs: readonly Sequence[]): void {
    this.waitingSeqs.push(...seqs);
    this.opts.observer?.added(seqs);
  }

  /** A waiting sequence got its first allocation: it runs. */
  admit(s: Sequence): void {
    s.status = 'running';
    this.waitingSeqs = this.waitingSeqs.filter((w) => w !== s);
    this.runningSeqs.push(s);
    this.opts.observer?.scheduled(s);
  }

  /** A waiting sequence leaves the queue without running (the scheduler drops it: it can never fit). */
  withdraw(s: Sequence): void {
    this.waitingSeqs = this.waitingSeqs.filter((w) => w !== s);
  }

  /** A running sequence gives back its blocks and worker state and waits to recompute (no preemption counted). */
  restart(s: Sequence): void {
    this.forget(s);
    s.restart();
    this.runningSeqs = this.runningSeqs.filter((r) => r !== s);
    this.waitingSeqs.unshift(s);
  }

  /** Preemption by recompute: the newest running sequence restarts, counted as preempted; undefined when none runs. */
  preemptNewest(): Sequence | undefined {
    let newest: Sequence | undefined;
    for (const s of this.runningSeqs) if (s.status === 'running' && (!newest || s.arrival > newest.arrival)) newest = s;
    if (!newest) return undefined;
    this.restart(newest);
    newest.numPreemptions++;
    this.stats.numPreemptions++;
    this.opts.observer?.preempted(newest);
    return newest;
  }

  /** Ends a sample with 'abort' and schedules its kv blocks and worker state for release. */
  drop(s: Sequence, error?: Error): void {
    this.forget(s);
    if (s.status === 'finished') return;
    s.abort(error);
    this.finished(s, error);
  }

  /** Ends every sample with `error` and empties both queues. */
  dropAll(error: Error): void {
    for (const s of [...this.runningSeqs, ...this.waitingSeqs]) this.drop(s, error);
    this.runningSeqs = [];
    this.waitingSeqs = [];
  }

  /** The sample finished (its Sequence decided): its blocks and worker state go, and it is reported. */
  finish(s: Sequence): void {
    this.forget(s);
    this.finished(s);
  }

  /** Drops the cancelled samples, then takes every sequence no longer running or waiting out of its queue. */
  reapCancelled(): void {
    for (const s of [...this.runningSeqs, ...this.waitingSeqs]) if (s.cancelled) this.drop(s);
    this.pruneRunning();
    this.pruneWaiting();
  }

  pruneRunning(): void {
    this.runningSeqs = this.runningSeqs.filter((s) => s.status === 'running');
  }

  pruneWaiting(): void {
    this.waitingSeqs = this.waitingSeqs.filter((s) => s.status === 'waiting');
  }

  /** Frees `seqId` at the kv-manager with the next flush (an incarnation that may exist there unconfirmed). */
  freeLater(seqId: string): void {
    this.toFree.push(seqId);
  }

  /** The worker state to release, for the step about to be sent. */
  takeReleases(): string[] {
    const seqIds = this.toRelease;
    this.toRelease = [];
    return seqIds;
  }

  /** Frees the let-go sequences' blocks at the kv-manager; ids it could not reach wait for the next flush. */
  async flushFrees(): Promise<void> {
    if (this.toFree.length === 0) return;
    const seqIds = this.toFree;
    this.toFree = [];
    this.toFree.push(...(await freeSequences(this.opts.kv, this.opts.poolId, seqIds, this.opts.onError)));
  }

  /** Tells the observer the queue sizes. */
  report(): void {
    const o = this.opts.observer;
    if (!o) return;
    o.queues(this.runningSeqs.length, this.waitingSeqs.length, this.waitingSeqs.filter((s) => s.numPreemptions > 0).length);
  }

  private finished(s: Sequence, error?: Error): void {
    const reason = s.finishReason ?? 'abort';
    this.stats.numFinished[reason]++;
    this.opts.onFinished?.(s, reason, error);
    this.opts.observer?.finished(s);
  }

  private forget(s: Sequence): void {
    if (s.numTokensAtKv > 0) this.toFree.push(s.seqId);
    if (s.workerHasState) this.toRelease.push(s.seqId);
    this.drafts.clear(s.seqId);
    s.numTokensAtKv = 0;
    s.workerHasState = false;
  }
}
