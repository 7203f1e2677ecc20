/*
 * What a failed kv-manager or worker call means for the sequences of the step, by status code:
 *
 *   sequence  - INVALID_ARGUMENT naming one of the step's sequences: that sequence's request is
 *               bad; only it fails, its neighbours are retried (one bad request never fails a batch)
 *   transient - UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, NOT_FOUND (a restarted kv-manager lost
 *               the pool or the sequence), FAILED_PRECONDITION (a restarted worker lost a sequence's
 *               state): the dependency is down or lost state; every running sequence restarts from
 *               its tokens once it answers again (recompute, as after preemption)
 *   fatal     - anything else (INTERNAL, an unexpected error): the step's sequences fail with it
 *
 * Plus the wait between retries of a transient failure: 100 ms doubling to 2 s.
 * What it is not: the retry loop itself (scheduler.ts).
 */
import { ServerError, Status } from '@llm/platform';

export type StepFailure = { type: 'sequence'; seqId: string; code: Status; details: string } | { type: 'transient'; code: Status; details: string } | { type: 'fatal' };

const TRANSIENT = new Set<Status>([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.CANCELLED, Status.NOT_FOUND, Status.FAILED_PRECONDITION, Status.RESOURCE_EXHAUSTED]);

/** The status code and details of a gRPC or in-process call error; undefined for other errors. */
export function statusOf(err: unknown): { code: Status; details: string } | undefined {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof e?.code !== 'number' || !(e.code in Status)) return undefined;
  return { code: e.code as Status, details: typeof e.details === 'string' ? e.details : String(e.message ?? '') };
}

export function classifyStepError(err: unknown, seqIds: readonly string[]): StepFailure {
  const s = statusOf(err);
  if (!s) return { type: 'fatal' };
  if (s.code === Status.INVALID_ARGUMENT) {
    const seqId = seqIds.find((id) => s.details.includes(JSON.stringify(id)));
    return seqId ? { type: 'sequence', seqId, ...s } : { type: 'fatal' };
  }
  if (TRANSIENT.has(s.code)) return { type: 'transient', ...s };
  return { type: 'fatal' };
}

/** The wait before retry number `attempt` (0-based) of a transient failure. */
export function retryDelayMs(attempt: number): number {
  return Math.min(2000, 100 * 2 ** Math.min(attempt, 5));
}

/** UNAVAILABLE for requests held longer than dependencyWaitMs: final (a retry would only wait again). */
export class DependencyTimeoutError extends ServerError {
  constructor(waitedMs: number, cause: string) {
    super(Status.UNAVAILABLE, `a dependency of the scheduler has been unavailable for ${Math.round(waitedMs / 1000)} s (${cause}); retry later`);
  }
}
