/*
 * AllocateSlots for a step's plan, in priority order, with preemption by recompute: when the
 * kv-manager refuses a running sequence for lack of blocks, the newest running sequence gives its
 * blocks back (freed before the retry) and the refused running sequences are asked for again; a
 * refused waiting sequence just keeps waiting. Only the first call commits the blocks filled by the
 * steps answered since the last AllocateSlots (prefix caching). A sequence granted its slots is
 * admitted: a waiting one starts running, and each learns how much of it the kv-manager already holds.
 *
 *   AllocateSlots(commit, [a, b, c]) -> OK, OK, OUT_OF_BLOCKS       (c running, b the newest)
 *   preempt b, Free(b)               -> AllocateSlots([c]) -> OK   => allocated [a, c]
 *
 * What it is not: the plan (planner.ts), how many lookahead slots to ask for (speculation.ts,
 * pipeline.ts) or the queue moves themselves (sequence-queues.ts). Follows vLLM v1's
 * Scheduler.schedule() around KVCacheManager.allocate_slots.
 */
import { kv, type trace } from '@llm/proto';
import type { PlannedSequence } from './planner';
import type { KvPort } from './ports';
import type { Sequence } from './sequence';
import type { SequenceQueues } from './sequence-queues';
import type { DraftBook } from './speculation';
import type { Allocated } from './step-sequence';

export interface AllocationContext {
  kv: KvPort;
  poolId: string;
  ownerId: string;
  /** Sequences whose filled blocks the first AllocateSlots commits. */
  commitSeqIds: string[];
  /** Lookahead slots to ask for per sequence (speculative drafts or pipelined steps). */
  lookahead: ReadonlyMap<Sequence, number>;
  /** Accepted lookahead tokens to report, cleared once reported. */
  drafts: DraftBook;
  queues: SequenceQueues;
}

export interface Allocation {
  allocated: Allocated[];
  copies: kv.BlockCopy[];
  poolMap: trace.PoolRun[];
  numPreempted: number;
}

export async function allocateSlots(plan: PlannedSequence[], ctx: AllocationContext): Promise<Allocation> {
  let pending = plan;
  let allocated: Allocated[] = [];
  const copies: kv.BlockCopy[] = [];
  const includePoolMap = plan.some((p) => p.seq.trace?.wantsPoolMap);
  let poolMap: trace.PoolRun[] = [];
  let numPreempted = 0;
  let commitSeqIds = ctx.commitSeqIds;
  while (pending.length > 0) {
    const res = await ctx.kv.allocateSlots({
      poolId: ctx.poolId,
      ownerId: ctx.ownerId,
      commitSeqIds,
      sequences: pending.map((p) => ({
        seqId: p.seq.seqId,
        newTokenIds: p.seq.tokens(p.seq.numTokensAtKv, p.seq.numTokens),
        cacheSalt: p.seq.cacheSalt,
        numTokensToCompute: p.numTokensToCompute,
        numLookaheadTokens: ctx.lookahead.get(p.seq) ?? 0,
        numAcceptedLookaheadTokens: ctx.drafts.acceptedOf(p.seq.seqId),
      })),
      includePoolMap,
    });
    commitSeqIds = [];
    copies.push(...res.copies);
    poolMap = res.poolMap ?? [];
    const failedAt = res.sequences.findIndex((r) => r.status !== kv.AllocationStatus.ALLOCATION_STATUS_OK);
    const okCount = failedAt < 0 ? pending.length : failedAt;
    for (let i = 0; i < okCount; i++) allocated.push(admit(pending[i], res.sequences[i], ctx));
    if (failedAt < 0) break;
    const refusedRunning = pending.slice(failedAt).filter((p) => !p.isNew);
    if (refusedRunning.length === 0) break;
    const victim = ctx.queues.preemptNewest();
    if (!victim) break;
    numPreempted++;
    allocated = allocated.filter((a) => a.seq !== victim);
    await ctx.queues.flushFrees();
    pending = refusedRunning.filter((p) => p.seq !== victim);
  }
  return { allocated, copies, poolMap, numPreempted };
}

/** A sequence granted its slots: a new incarnation starts running; the step computes from what the kv-manager holds. */
function admit(p: PlannedSequence, slots: kv.SequenceSlots, ctx: AllocationContext): Allocated {
  const s = p.seq;
  const start = slots.numComputedTokens;
  if (p.isNew) {
    if (s.incarnation === 0) s.numCachedPromptTokens = Math.min(start, s.promptIds.length);
    ctx.queues.admit(s);
  }
  s.numTokensAtKv = s.numTokens;
  s.numComputedTokens = start;
  ctx.drafts.clear(s.seqId); // reported in this call
  const count = Math.min(p.numTokensToCompute, s.numTokens - start);
  return { seq: s, start, count, blockIds: slots.blockIds, firstOfIncarnation: p.isNew, lookahead: slots.numLookaheadTokens ?? 0 };
}
