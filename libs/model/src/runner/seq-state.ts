/*
 * Per-sequence sampling state cached by the worker, keyed by sequence id: the sampling
 * parameters, the prompt and output tokens (for penalties and the output position of the next
 * draw), and how far this worker has computed the sequence.
 *
 * What this is not: the source of truth. The scheduler owns each sequence's tokens and resends
 * the full state whenever the worker has not seen a sequence (new, resumed, moved); a resent
 * state replaces the cached one. The worker never decides that a sequence has finished.
 */
import type { StepSamplingParams, StepSamplingState } from './step-types';

export interface CachedSeqState {
  params: StepSamplingParams;
  promptTokenIds: Int32Array;
  outputTokenIds: number[]; // length = output position of the next draw
  /** Positions 0 .. numComputedTokens - 1 were computed here; undefined until this worker ran a step of it. */
  numComputedTokens: number | undefined;
}

export class SeqStateCache {
  private readonly states = new Map<string, CachedSeqState>();

  get size(): number {
    return this.states.size;
  }

  get(seqId: string): CachedSeqState | undefined {
    return this.states.get(seqId);
  }

  /** Replaces the sequence's cached state with the scheduler's full state. */
  put(seqId: string, state: StepSamplingState): CachedSeqState {
    const cached: CachedSeqState = {
      params: { ...state.params, logitBias: new Map(state.params.logitBias) },
      promptTokenIds: Int32Array.from(state.promptTokenIds ?? []),
      outputTokenIds: Array.from(state.outputTokenIds ?? []),
      numComputedTokens: undefined,
    };
    this.states.set(seqId, cached);
    return cached;
  }

  release(seqIds: Iterable<string>): void {
    for (const id of seqIds) this.states.delete(id);
  }
}
