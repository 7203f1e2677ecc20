/*
 * Sequence: one sample of one request as the scheduler sees it. It owns the sample's tokens
 * (prompt + output), how many of them the worker has computed, and the finish decision.
 *
 *   tokens:   [ p0 p1 ... p(P-1) | o0 o1 ... o(k-1) ]      numTokens = P + k
 *              <--- numComputedTokens ---->|<-- this step's chunk -->|
 *
 * Each (re)start of the sample on the kv-manager and worker is an "incarnation" with its own
 * sequence id (`<scheduler>:<request>/<sample>/<incarnation>`): a preempted sample is freed everywhere and
 * comes back as a new incarnation that recomputes prompt + output (prefix-cache hits skip what
 * is still cached); counter-based sampling makes it draw the same tokens.
 *
 * What it is not: the batching policy (planner.ts) or the transport (scheduler.ts).
 * Follows vLLM v1's Request (num_computed_tokens catching up to num_tokens) and its StopChecker.
 */
import type { Tokenizer } from '@llm/tokenizer';
import type { TraceCollector } from '../trace/trace-collector';
import { OutputText } from './output-text';
import type { FinishReason, SampleDelta, SampleSampling, StopRules, TokenLogprobOut } from './types';

export type SequenceStatus = 'waiting' | 'running' | 'finished';

export interface SequenceInit {
  requestId: string;
  /** The id the client sees (its own id, or the one the edge gave it); default requestId. Logs and spans name it. */
  publicRequestId?: string;
  sampleIndex: number;
  promptIds: readonly number[];
  sampling: SampleSampling;
  rules: StopRules;
  tokenizer: Tokenizer;
  skipSpecialTokens: boolean;
  cacheSalt: string;
  /** Prepended to sequence ids (the scheduler's id), so a restarted request never reuses a dead scheduler's ids. */
  seqIdPrefix?: string;
  /** Return the sampled token's logprob (and num_top_logprobs alternatives) with each delta. */
  logprobs: boolean;
  /** Called with every delta (one per sampled token; the last has a finish reason). */
  onDelta: (seq: Sequence, delta: SampleDelta) => void;
  /** Tokens produced before a restart (distributed resume); replayed silently. */
  resumeOutputIds?: readonly number[];
  /** Set when the sample had already finished before the restart. */
  resumeFinished?: FinishReason;
  /** Not schedulable before this sequence has sampled once (n > 1 samples reuse its prompt blocks). */
  after?: Sequence;
  /** EBNF the output follows (the worker masks every draw); empty or absent for none. */
  grammarEbnf?: string;
  /** An embedding sequence: its prompt is computed and pooled, nothing is sampled. */
  embedPooling?: 'mean' | 'last';
  /** Called with the pooled vector of an embedding sequence (then it finishes with 'stop'). */
  onEmbedding?: (seq: Sequence, vector: Float32Array) => void;
  /** Score the prompt: each prompt token's logprob (and this many alternatives), sent with the first delta. */
  promptLogprobs?: number;
  /** Records the sample's internals trace (the scheduler feeds it each step). */
  trace?: TraceCollector;
}

let arrivalCounter = 0;

export class Sequence {
  readonly requestId: string;
  /** The client-visible request id (logs, spans); requestId stays unique per admission. */
  readonly publicRequestId: string;
  readonly sampleIndex: number;
  readonly promptIds: readonly number[];
  readonly outputIds: number[] = [];
  readonly sampling: SampleSampling;
  readonly rules: StopRules;
  readonly cacheSalt: string;
  readonly seqIdPrefix: string;
  readonly logprobs: boolean;
  readonly arrival = arrivalCounter++;
  readonly after?: Sequence;
  readonly grammarEbnf: string;
  readonly embedPooling?: 'mean' | 'last';
  /** Alternatives per prompt logprob; undefined when the prompt is not scored. */
  readonly promptLogprobsTop?: number;
  /** Prompt logprobs so far, by position - 1 (position 0 has none). */
  readonly promptLogprobs: TokenLogprobOut[] = [];
  readonly trace?: TraceCollector;
  private readonly onEmbedding?: (seq: Sequence, vector: Float32Array) => void;
  status: SequenceStatus = 'waiting';
  finishReason?: FinishReason;
  incarnation = 0;
  /** Tokens whose K/V the worker holds for the current incarnation. */
  numComputedTokens = 0;
  /** Tokens the kv-manager has been given for the current incarnation. */
  numTokensAtKv = 0;
  /** Whether the worker caches this incarnation's sampling state. */
  workerHasState = false;
  /** Prompt tokens served from the prefix cache on the first incarnation. */
  numCachedPromptTokens = 0;
  numPreemptions = 0;
  cancelled = false;
  /** performance.now() when a step last computed this sequence (the planner's decode deferral clock). */
  computedAt = 0;
  private readonly text: OutputText;
  private readonly onDelta: (seq: Sequence, delta: SampleDelta) => void;
  private readonly eos: Set<number>;
  private readonly stopIds: Set<number>;

  constructor(init: SequenceInit) {
    this.requestId = init.requestId;
    this.publicRequestId = init.publicRequestId || init.requestId;
    this.sampleIndex = init.sampleIndex;
    this.promptIds = init.promptIds;
    this.sampling = init.sampling;
    this.rules = init.rules;
    this.cacheSalt = init.cacheSalt;
    this.seqIdPrefix = init.seqIdPrefix ?? '';
    this.logprobs = init.logprobs;
    this.after = init.after;
    this.onDelta = init.onDelta;
    this.grammarEbnf = init.grammarEbnf ?? '';
    this.embedPooling = init.embedPooling;
    this.promptLogprobsTop = init.promptLogprobs;
    this.onEmbedding = init.onEmbedding;
    this.trace = init.trace;
    this.eos = new Set(init.rules.ignoreEos ? [] : init.rules.eosTokenIds);
    this.stopIds = new Set(init.rules.stopTokenIds);
    this.text = new OutputText(init.tokenizer, init.rules.stop, init.skipSpecialTokens);
    for (const id of init.resumeOutputIds ?? []) this.replay(id);
    if (init.resumeFinished) this.finish(init.resumeFinished);
  }

  get seqId(): string {
    return `${this.seqIdPrefix}${this.requestId}/${this.sampleIndex}/${this.incarnation}`;
  }

  get isFinished(): boolean {
    return this.status === 'finished';
  }

  get numTokens(): number {
    return this.promptIds.length + this.outputIds.length;
  }

  /** Token at absolute position i of prompt + output. */
  tokenAt(i: number): number {
    const p = this.promptIds.length;
    return i < p ? this.promptIds[i] : this.outputIds[i - p];
  }

  tokens(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = from; i < to; i++) out.push(this.tokenAt(i));
    return out;
  }

  /** Whether the scheduler may put it in a step now. */
  get isReady(): boolean {
    return !this.after || this.after.outputIds.length > 0 || this.after.status === 'finished';
  }

  /** Forgets the incarnation: the next one starts from scratch on the kv-manager and the worker. */
  restart(): void {
    this.incarnation++;
    this.numComputedTokens = 0;
    this.numTokensAtKv = 0;
    this.workerHasState = false;
    this.status = 'waiting';
  }

  /** Ends the sample as aborted (cancelled, deadline, or a failed step); emits the last delta. */
  abort(error?: Error): void {
    if (this.status === 'finished') return;
    this.finish('abort');
    const delta: SampleDelta = { sampleIndex: this.sampleIndex, tokenOffset: this.outputIds.length, tokenIds: [], text: '', logprobs: [], finishReason: 'abort' };
    if (error) delta.error = error;
    this.onDelta(this, delta);
  }

  /** Takes an embedding sequence's pooled vector: it is done. */
  acceptEmbedding(vector: Float32Array): void {
    this.finish('stop');
    this.onEmbedding?.(this, vector);
  }

  /** Takes a sampled token, applies the finish rules and emits its delta. */
  accept(tokenId: number, logprob: TokenLogprobOut | undefined): void {
    const offset = this.outputIds.length;
    this.outputIds.push(tokenId);
    const n = this.outputIds.length;
    const delta: SampleDelta = { sampleIndex: this.sampleIndex, tokenOffset: offset, tokenIds: [tokenId], text: '', logprobs: logprob ? [logprob] : [] };
    if (offset === 0 && this.promptLogprobsTop !== undefined) delta.promptLogprobs = [...this.promptLogprobs];
    const endsById = (this.eos.has(tokenId) || this.stopIds.has(tokenId)) && n > this.rules.minTokens;
    if (endsById) {
      // The EOS / stop id ends the sample; its text is not part of the output.
      delta.text = this.text.end();
      delta.finishReason = 'stop';
      delta.stopReason = this.stopIds.has(tokenId) ? String(tokenId) : '';
      if (this.stopIds.has(tokenId)) delta.stopTokenId = tokenId;
    } else {
      const step = this.text.push(tokenId, n >= this.rules.minTokens);
      delta.text = step.text;
      if (step.stop !== undefined) {
        delta.finishReason = 'stop';
        delta.stopReason = step.stop;
      } else if (n >= this.rules.maxTokens || this.numTokens >= this.rules.maxContextTokens) {
        delta.text += this.text.end();
        delta.finishReason = 'length';
      }
    }
    if (delta.finishReason) this.finish(delta.finishReason);
    this.onDelta(this, delta);
  }

  private finish(reason: FinishReason): void {
    this.status = 'finished';
    this.finishReason = reason;
  }

  /** Re-applies an already produced token (resume) without emitting anything. */
  private replay(tokenId: number): void {
    this.outputIds.push(tokenId);
    this.text.push(tokenId, this.outputIds.length >= this.rules.minTokens);
  }
}
