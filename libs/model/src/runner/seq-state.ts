/*
 * Per-sequence sampling state cached by the worker, keyed by sequence id: the sampling
 * parameters, the token counts of prompt and output (for penalties), the output position of the
 * next draw, and how far this worker has computed the sequence.
 *
 * What this is not: the source of truth. The scheduler owns each sequence's tokens and resends
 * the full state whenever the worker has not seen a sequence (new, resumed, moved); a resent
 * state replaces the cached one. The worker never decides that a sequence has finished.
 *
 * A state with a grammar holds the sequence's TokenMatcher: built from the engine's compiled
 * grammar (cached by its text) and advanced through every output token the state carries, so a
 * resumed or moved sequence continues exactly where its grammar was. An embedding sequence holds
 * the running sum (or last row) of its hidden states across prefill chunks.
 */
import type { GrammarEngine, TokenMatcher } from '@llm/grammar';
import { newSamplingState, recordOutputToken, type SamplingParams, type SamplingState } from '../sampling';
import { RunnerError } from './errors';
import type { EmbedPooling, StepSamplingParams, StepSamplingState } from './step-types';

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
  /** The prompt's token ids (prompt logprobs score them). */
  promptTokenIds: ArrayLike<number>;
  /** The output's token ids so far (speculative drafts look them up). */
  outputTokenIds: number[];
  /** The sequence's position in its grammar, when it has one. */
  matcher?: TokenMatcher;
  /** An embedding sequence's pooled hidden states so far. */
  pooled?: { pooling: EmbedPooling; sum: Float64Array; last: Float32Array; count: number };
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
    skipLogprob: p.skipLogprob ?? false,
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

  constructor(private readonly grammar?: GrammarEngine) {}

  /** Replaces the sequence's cached state with the scheduler's full state (compiling its grammar if any). */
  async put(seqId: string, state: StepSamplingState): Promise<CachedSeqState> {
    const counts = newSamplingState(Array.from(state.promptTokenIds ?? []));
    const output = Array.from(state.outputTokenIds ?? []);
    for (const t of output) recordOutputToken(counts, t);
    const cached: CachedSeqState = {
      params: { ...state.params, logitBias: new Map(state.params.logitBias) },
      samplerParams: toSamplerParams(state.params),
      counts,
      numOutputTokens: output.length,
      numComputedTokens: undefined,
      promptTokenIds: state.promptTokenIds ?? [],
      outputTokenIds: output,
    };
    if (state.grammarEbnf) cached.matcher = await this.matcherFor(seqId, state.grammarEbnf, output);
    this.release([seqId]);
    this.states.set(seqId, cached);
    return cached;
  }

  private async matcherFor(seqId: string, ebnf: string, output: number[]): Promise<TokenMatcher> {
    if (!this.grammar) throw new RunnerError('FAILED_PRECONDITION', `sequence ${JSON.stringify(seqId)}: this worker has no grammar engine (it needs the model's tokenizer.json)`, seqId, 'state.grammar_ebnf');
    let matcher: TokenMatcher;
    try {
      matcher = await this.grammar.matcher(await this.grammar.compile(ebnf));
    } catch (err) {
      throw new RunnerError('INVALID_ARGUMENT', `sequence ${JSON.stringify(seqId)}: state.grammar_ebnf ${(err as Error).message}`, seqId, 'state.grammar_ebnf');
    }
    output.forEach((t, i) => {
      if (!matcher.accept(t)) {
        matcher.dispose();
        throw new RunnerError('INVALID_ARGUMENT', `sequence ${JSON.stringify(seqId)}: state.output_token_ids[${i}] = ${t} is not allowed by its grammar`, seqId, 'state.output_token_ids');
      }
    });
    return matcher;
  }

  /** Appends accepted output tokens (sampled here or appended by the scheduler). */
  appendOutput(state: CachedSeqState, tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) {
      recordOutputToken(state.counts, tokens[i]);
      state.outputTokenIds.push(tokens[i]);
      if (state.matcher && !state.matcher.accept(tokens[i])) throw new RunnerError('INTERNAL', `token ${tokens[i]} is not allowed by the sequence's grammar`);
    }
    state.numOutputTokens += tokens.length;
  }

  release(seqIds: Iterable<string>): void {
    for (const id of seqIds) {
      this.states.get(id)?.matcher?.dispose();
      this.states.delete(id);
    }
  }
}
