/*
 * The worker's draft source for speculative decoding, and the prompt-lookup one. The runner asks
 * a Speculator for drafts once per step, for every sequence that may speculate, then verifies
 * them in the step's single batched forward (runner/verify-drafts.ts).
 *
 * What this is not: verification, or the choice of which sequences speculate (the scheduler asks
 * per sequence through num_speculative_tokens, the runner checks eligibility).
 */
import type { SamplingParams, SamplingState } from '../sampling';
import { proposeNgram, type NgramOptions } from './ngram';

export type SpeculativeMethod = 'ngram' | 'draft';

/** One sequence that may speculate this step. */
export interface DraftRequest {
  seqId: string;
  /** Every token of the sequence (T), the step's new ones included: token t sits at position t. */
  tokens: ArrayLike<number>;
  /** Physical blocks covering positions 0 .. T + k - 1 (the target pool's table; a draft model's pool mirrors it). */
  blockIds: ArrayLike<number>;
  /** Propose at most this many tokens (positions T .. T + k - 1). */
  k: number;
  /** A sampling sequence (temperature > 0): a proposer that samples its drafts draws like the target does. */
  sampling?: DraftSampling;
}

/** What a sampling proposer needs to draw drafts as the target would and to report q. */
export interface DraftSampling {
  params: SamplingParams;
  /** the sequence's token counts before the drafts (penalties); a proposer copies, never changes them */
  counts: SamplingState;
  seed: bigint | number;
  sampleIndex: number;
  /** output position of the first draft */
  numOutputTokens: number;
}

/** One sequence's drafts; q[j] (V) is the distribution tokens[j] was drawn from, absent for deterministic drafts. */
export interface Draft {
  tokens: number[];
  q?: Float64Array[];
}

export interface Speculator {
  readonly method: SpeculativeMethod;
  /** Drafts per request, in order (each at most k tokens; may be empty). */
  propose(requests: readonly DraftRequest[]): Promise<Draft[]>;
  /** The step's copy-on-write copies (a draft model's pool mirrors the target's blocks). */
  applyCopies?(copies: readonly { src: number; dst: number }[]): void;
  /** A sequence's state was replaced (new, resumed, moved): forget what was computed for it. */
  reset?(seqId: string): void;
  /** Sequences the scheduler released. */
  release?(seqIds: readonly string[]): void;
  dispose?(): Promise<void>;
}

/** Prompt lookup: drafts copied from an earlier occurrence of the sequence's last tokens. */
export class NgramSpeculator implements Speculator {
  readonly method = 'ngram';
  constructor(private readonly opts: NgramOptions = {}) {}

  async propose(requests: readonly DraftRequest[]): Promise<Draft[]> {
    return requests.map((r) => ({ tokens: proposeNgram(r.tokens, r.k, this.opts) }));
  }
}
