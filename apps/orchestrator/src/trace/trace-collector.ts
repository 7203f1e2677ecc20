/*
 * TraceCollector: one traced sequence's internals trace, filled as the scheduler runs its steps
 * (the worker's attention rows, routing and draws arrive with each step's output; the block table,
 * prefix hit, copies and pool map with each allocation; batch, preemptions and timings from the
 * scheduler itself) and turned into an llm.trace.v1.Trace when the request finishes.
 *
 * A preempted sequence recomputes positions on its next incarnation: their rows and routing are
 * recorded again and replace the earlier ones (same numbers: same weights, same tokens).
 * Bounded: pool maps are cut at KV_POOL_RUNS_MAX runs a step and stop (pool_truncated) once they
 * have used a quarter of the request's trace budget; every other part was bounded at admission.
 *
 * What it is not: a metrics or tracing-span exporter (a separate concept), or the scheduler.
 */
import { trace } from '@llm/proto';
import type { ModelFacts } from '../api/model-facts';
import type { TraceRequest } from './trace-request';
import { KV_POOL_RUNS_MAX } from './trace-size';
import { tokenizerTrace } from './tokenizer-trace';

/** What the scheduler knows about one step of a traced sequence. */
export interface TracedStep {
  stepId: number;
  /** First position computed in this step (= tokens computed before it). */
  start: number;
  /** The first step of an incarnation (its start is the prefix-cache hit). */
  firstOfIncarnation: boolean;
  blockIds: number[];
  copies: Array<{ srcBlockId: number; dstBlockId: number }>;
  poolMap: trace.PoolRun[];
  batch: trace.BatchEntry[];
  numPreempted: number;
  /** performance.now() at the step's start, and the phases' durations in ms. */
  startedAt: number;
  allocateMs: number;
  stepMs: number;
  forwardNs: number;
  grammarNs: number;
  workerNs: number;
  /** What the worker recorded for the sequence. */
  output?: trace.StepTrace;
}

/** The sequence facts the final trace needs (a Sequence has them). */
export interface TracedSequence {
  promptIds: readonly number[];
  outputIds: readonly number[];
  numCachedPromptTokens: number;
  numPreemptions: number;
}

export class TraceCollector {
  private readonly startedAt = performance.now();
  private readonly attention = new Map<string, trace.AttentionRow>();
  private readonly moe = new Map<string, trace.TokenRouting>();
  private readonly sampling = new Map<number, trace.TokenSampling>();
  private readonly kvSteps: trace.KvStep[] = [];
  private readonly schedulerSteps: trace.SchedulerStep[] = [];
  private poolBytes = 0;

  constructor(
    readonly request: TraceRequest,
    private readonly facts: ModelFacts,
  ) {}

  /** The worker's parts of the trace, for StepSequence.trace (undefined when none is asked for). */
  get stepOptions(): trace.TraceOptions | undefined {
    const r = this.request;
    if (!r.attention && !r.moe && r.samplingTop === 0) return undefined;
    return {
      tokenizer: false, kv: false, scheduler: false, moe: r.moe,
      attention: r.attention ? { layers: r.attention.layers, heads: r.attention.heads } : undefined,
      sampling: r.samplingTop > 0 ? { top: r.samplingTop } : undefined,
    };
  }

  /** Whether AllocateSlots should return the pool map. */
  get wantsPoolMap(): boolean {
    return this.request.kv;
  }

  record(s: TracedStep): void {
    for (const row of s.output?.attention ?? []) this.attention.set(`${row.layer}/${row.head}/${row.queryPosition}`, row);
    for (const r of s.output?.moe ?? []) this.moe.set(`${r.layer}/${r.position}`, r);
    if (s.output?.sampling) this.sampling.set(s.output.sampling.position, s.output.sampling);
    if (this.request.kv) this.kvSteps.push(this.kvStep(s));
    if (this.request.scheduler) {
      this.schedulerSteps.push({
        stepId: s.stepId, batch: s.batch, numPreempted: s.numPreempted, startMs: s.startedAt - this.startedAt,
        allocateMs: s.allocateMs, stepMs: s.stepMs, forwardMs: s.forwardNs / 1e6, grammarMs: s.grammarNs / 1e6, workerMs: s.workerNs / 1e6,
      });
    }
  }

  private kvStep(s: TracedStep): trace.KvStep {
    const states = blockStates(s.poolMap);
    const budget = this.request.maxBytes / 4;
    const runs = s.poolMap.slice(0, KV_POOL_RUNS_MAX);
    const keep = this.poolBytes + runs.length * 30 <= budget;
    if (keep) this.poolBytes += runs.length * 30;
    const covered = s.poolMap.reduce((n, r) => n + r.numBlocks, 0);
    const mine = new Set(s.blockIds);
    return {
      stepId: s.stepId,
      blockIds: s.blockIds,
      numPrefixHitBlocks: s.firstOfIncarnation ? Math.floor(s.start / this.facts.blockSize) : 0,
      sharedBlockIds: s.blockIds.filter((b) => states(b) === trace.BlockState.BLOCK_STATE_SHARED),
      copies: s.copies.filter((c) => mine.has(c.dstBlockId)),
      pool: keep ? runs : [],
      poolTruncated: !keep || runs.length < s.poolMap.length || covered < this.facts.numBlocks - 1,
      numComputedTokens: s.start,
    };
  }

  /** The whole trace, when the sequence has finished. */
  toProto(seq: TracedSequence): trace.Trace {
    const r = this.request;
    const f = this.facts;
    const byKey = <T>(m: Map<unknown, T>, cmp: (a: T, b: T) => number) => [...m.values()].sort(cmp);
    return {
      model: { numLayers: f.numLayers, numHeads: f.numHeads, numKvHeads: f.numKvHeads, numExperts: f.numExperts, modelId: f.modelId },
      tokenizer: r.tokenizer ? tokenizerTrace(f.tokenizer, r.promptText, seq.promptIds) : undefined,
      attention: byKey(this.attention, (a, b) => a.layer - b.layer || a.head - b.head || a.queryPosition - b.queryPosition),
      attentionSkippedPositions: r.attention ? seq.numCachedPromptTokens : 0,
      moe: byKey(this.moe, (a, b) => a.layer - b.layer || a.position - b.position),
      kv: r.kv ? { blockSizeTokens: f.blockSize, numBlocks: f.numBlocks, steps: this.kvSteps } : undefined,
      scheduler: r.scheduler ? { steps: this.schedulerSteps, numPreemptions: seq.numPreemptions } : undefined,
      sampling: byKey(this.sampling, (a, b) => a.position - b.position),
      promptTokenIds: [...seq.promptIds],
      outputTokenIds: [...seq.outputIds],
    };
  }
}

/** Block id -> state (trace.BlockState number) from run-length encoded runs starting at block 1. */
function blockStates(runs: trace.PoolRun[]): (blockId: number) => number {
  const starts: number[] = [];
  let b = 1;
  for (const r of runs) {
    starts.push(b);
    b += r.numBlocks;
  }
  return (id) => {
    for (let i = runs.length - 1; i >= 0; i--) if (id >= starts[i]) return id < starts[i] + runs[i].numBlocks ? runs[i].state : 0;
    return 0;
  };
}
