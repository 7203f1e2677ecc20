/*
 * The scheduler's view of a dependency outage (the worker or the kv-manager down or without its
 * state): when it began, how many retries it has cost (their backoff), one 'down' and one 'up'
 * report per outage, and when the requests held through it have waited long enough to fail
 * (`waitMs`, the --dependency-wait-ms setting; the clock then restarts for later requests).
 * What it is not: the classification of a failed step (step-errors.ts) or the holding and
 * restarting of sequences (scheduler.ts, sequence-queues.ts).
 */
import { DependencyTimeoutError, retryDelayMs } from './step-errors';

export class Outage {
  private state: { since: number; attempts: number } | undefined;

  constructor(
    private readonly waitMs: number,
    private readonly onChange?: (state: 'down' | 'up', detail: string) => void,
  ) {}

  get down(): boolean {
    return this.state !== undefined;
  }

  /**
   * A step failed for a dependency (`detail` says how): starts or continues the outage. Returns the
   * error to fail the held requests with once the wait is over (undefined before), and the backoff
   * before the next try.
   */
  failed(detail: string): { expired: DependencyTimeoutError | undefined; delayMs: number } {
    const now = Date.now();
    if (!this.state) {
      this.state = { since: now, attempts: 0 };
      this.onChange?.('down', detail);
    }
    const waited = now - this.state.since;
    let expired: DependencyTimeoutError | undefined;
    if (waited >= this.waitMs) {
      expired = new DependencyTimeoutError(waited, detail);
      this.state.since = now; // later requests get their own full wait
    }
    return { expired, delayMs: retryDelayMs(this.state.attempts++) };
  }

  /** A step succeeded: the outage, if any, is over. */
  recovered(): void {
    if (!this.state) return;
    const ms = Date.now() - this.state.since;
    this.state = undefined;
    this.onChange?.('up', `steps succeed again after ${ms} ms`);
  }
}
