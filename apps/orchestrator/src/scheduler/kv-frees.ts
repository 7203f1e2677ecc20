/*
 * Freeing finished or restarted sequences at the kv-manager, tolerant of its failures: an
 * unreachable kv-manager keeps the ids for a later try; ids it no longer knows (a restarted
 * kv-manager, a reset pool, an allocation never confirmed) make it refuse a batch whole, so the
 * others are freed one by one (those unknown ids have nothing to free).
 * What it is not: the allocation side (slot-allocation.ts) or deciding what to free (sequence-queues.ts).
 */
import { Status } from '@llm/platform';
import type { KvPort } from './ports';
import { statusOf } from './step-errors';

/** Frees `seqIds`; returns the ids to try again later (the kv-manager was unreachable). */
export async function freeSequences(kv: KvPort, poolId: string, seqIds: string[], onError?: (err: unknown) => void): Promise<string[]> {
  try {
    await kv.free({ poolId, seqIds });
    return [];
  } catch (err) {
    const code = statusOf(err)?.code;
    if (code === Status.UNAVAILABLE || code === Status.DEADLINE_EXCEEDED) return seqIds;
    if (code === Status.NOT_FOUND || code === Status.FAILED_PRECONDITION || code === Status.INVALID_ARGUMENT) {
      if (seqIds.length > 1) for (const id of seqIds) await kv.free({ poolId, seqIds: [id] }).catch(() => undefined);
    } else onError?.(err);
    return [];
  }
}
