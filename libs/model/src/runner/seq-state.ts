/*
 * Per-sequence sampling state cached by the worker, keyed by sequence id: the sampling
 * parameters, the token counts of prompt and output (for penalties), the output position of the
 * next draw, and how far this worker has computed the sequence.
 *
 * What this is not: the source of truth. The scheduler owns each sequence's tokens and resends
 * the full state whenever the worker has not seen a sequence (new, resumed, moved); a resent
 * state replaces the cached one. The worker never decides that a sequence has finished.
 */
import { newSamplingState, recordOutputToken, type SamplingParams, type SamplingState } from '../sampling';
import type { StepSamplingParams, StepSamplingState } from './step-types';

export interface CachedSeqState {
  params: StepSamplingParams;
  /** the same parameters in the sampler's form */
  samplerParams: SamplingParams;
  /** token counts of prompt and output */
  counts: SamplingState;
  /** output tokens so far = the output position of the next draw */
  numOutputTokens: number;
  /** Positions 0 .. numComputedTokens - 1 were computed here; undefined until this worker ran a step of it. */
  numComputedTokens: number | undefined;
}

/** The worker's parameters in the sampler's form (top_p 0 means off, as 1 does). */
export function toSamplerParams(p: StepSamplingParams): SamplingParams {
  return {
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP === 0 ? 1 : p.topP,
    minP: p.minP,
    repetitionPenalty: p.repetitionPenalty,
    presencePenalty: p.presencePenalty,
    frequencyPenalty: p.frequencyPenalty,
    logitBias: new Map(p.logitBias),
    seed: p.seed,
    logprobs: p.numTopLogprobs,
  };
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
    const counts = newSamplingState(Array.from(state.promptTokenIds ?? []));
    const output = Array.from(state.outputTokenIds ?? []);
    for (const t of output) recordOutputToken(counts, t);
    const cached: CachedSeqState = {
      params: { ...state.params, logitBias: new Map(state.params.logitBias) },
      samplerParams: toSamplerParams(state.params),
      counts,
      numOutputTokens: output.length,
      numComputedTokens: undefined,
    };
    this.states.set(seqId, cached);
    return cached;
  }

  /** Appends accepted output tokens (sampled here or appended by the scheduler). */
  appendOutput(state: CachedSeqState, tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) recordOutputToken(state.counts, tokens[i]);
    state.numOutputTokens += tokens.length;
  }

  release(seqIds: Iterable<string>): void {
    for (const id of seqIds) this.states.delete(id);
  }
}
