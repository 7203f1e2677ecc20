/*
 * The scheduler's hook for internals traces: after a step, each traced sequence of the step gets
 * what the scheduler saw (its block table, copies, the pool map, the batch with the other
 * sequences anonymous, preemptions, the phases' timings) and what the worker recorded for it.
 *
 * What it is not: the recording (trace/trace-collector.ts). The scheduler calls this only for a
 * step that holds a traced sequence, so untraced steps do no trace work.
 */
import type { trace, worker } from '@llm/proto';
import type { Sequence } from './sequence';

/** One sequence's share of a step, as the scheduler allocated it. */
interface StepShare {
  seq: Sequence;
  start: number;
  count: number;
  blockIds: number[];
  firstOfIncarnation: boolean;
}

export interface StepTraceContext {
  stepId: number;
  allocated: readonly StepShare[];
  copies: Array<{ srcBlockId: number; dstBlockId: number }>;
  poolMap: trace.PoolRun[];
  numPreempted: number;
  startedAt: number;
  allocateMs: number;
  stepMs: number;
  res: worker.StepResponse;
}

/** A decode computes one token past the prompt; everything else is a prefill chunk (a recompute too). */
const isDecode = (a: StepShare) => a.count === 1 && a.start >= a.seq.promptIds.length;

export function recordStepTraces(c: StepTraceContext): void {
  c.allocated.forEach((a, i) => {
    if (!a.seq.trace) return;
    a.seq.trace.record({
      stepId: c.stepId,
      start: a.start,
      firstOfIncarnation: a.firstOfIncarnation,
      blockIds: a.blockIds,
      copies: c.copies,
      poolMap: c.poolMap,
      batch: c.allocated.map((b) => ({ traced: b === a, numTokens: b.count, prefill: !isDecode(b) })),
      numPreempted: c.numPreempted,
      startedAt: c.startedAt,
      allocateMs: c.allocateMs,
      stepMs: c.stepMs,
      forwardNs: c.res.forwardNs,
      grammarNs: c.res.grammarNs,
      workerNs: c.res.stepNs,
      output: c.res.outputs[i]?.trace,
    });
  });
}
