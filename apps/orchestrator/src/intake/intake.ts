/*
 * Intake: how a validated request reaches a scheduler. Embedded mode (DirectIntake) hands it to
 * the in-process scheduler; the distributed api role (QueueIntake, queue-intake.ts) puts it on
 * BullMQ and relays the deltas a scheduler process writes to Redis.
 * What it is not: validation (api/params.ts) or a transport for per-step traffic.
 */
import type { inference } from '@llm/proto';
import type { Generation } from '../api/generation';
import type { NormalizedRequest } from '../api/params';

export interface Intake {
  /** The request's delta stream; aborting `signal` (or leaving the stream) cancels it. */
  generate(request: NormalizedRequest, signal?: AbortSignal): AsyncIterable<inference.GenerateResponse>;
  close(): Promise<void>;
}

/** Embedded intake: the scheduler is in this process. */
export class DirectIntake implements Intake {
  constructor(private readonly start: (request: NormalizedRequest) => Generation) {}

  async *generate(request: NormalizedRequest, signal?: AbortSignal): AsyncGenerator<inference.GenerateResponse> {
    const generation = this.start(request);
    const onAbort = () => generation.cancel();
    signal?.addEventListener('abort', onAbort);
    try {
      if (signal?.aborted) generation.cancel();
      yield* generation.responses();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    // The scheduler's owner closes it.
  }
}
