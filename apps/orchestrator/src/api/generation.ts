/*
 * Generation: one request's life in the orchestrator. It creates the request's n samples as
 * scheduler Sequences, turns their deltas into llm.inference.v1 GenerateResponse messages (token
 * text for logprobs, finish reasons, usage on the very last message) and exposes them as an async
 * stream. Closing the stream early (client gone, deadline) cancels the samples; the scheduler
 * frees their blocks at its next step.
 *
 * Samples 1..n-1 start after sample 0 has sampled once, so by then sample 0's full prompt blocks
 * are committed and they reuse them through the prefix cache instead of recomputing them.
 *
 * A traced request (n = 1) records its sample's internals trace (trace/trace-collector.ts); the
 * trace rides on the request's last message.
 *
 * What it is not: validation (params.ts) or transport; the same object serves gRPC, HTTP and the
 * distributed scheduler role (which writes the messages to a Redis stream).
 */
import { Status } from '@llm/platform';
import { inference } from '@llm/proto';
import { ServerError } from 'nice-grpc-common';
import type { Scheduler } from '../scheduler/scheduler';
import { Sequence } from '../scheduler/sequence';
import type { FinishReason, SampleDelta } from '../scheduler/types';
import { AsyncQueue } from './async-queue';
import type { ModelFacts } from './model-facts';
import type { NormalizedRequest } from './params';
import { TraceCollector } from '../trace/trace-collector';

/** What a restarted request already produced, per sample (distributed resume). */
export interface ResumeState {
  outputIds: number[][];
  finished: (FinishReason | undefined)[];
}

const FINISH: Record<FinishReason, inference.FinishReason> = {
  stop: inference.FinishReason.FINISH_REASON_STOP,
  length: inference.FinishReason.FINISH_REASON_LENGTH,
  abort: inference.FinishReason.FINISH_REASON_ABORT,
};

export function finishReasonOf(r: inference.FinishReason): FinishReason | undefined {
  for (const [k, v] of Object.entries(FINISH)) if (v === r) return k as FinishReason;
  return undefined;
}

let generationCounter = 0;

export class Generation {
  readonly sequences: Sequence[];
  private readonly queue = new AsyncQueue<inference.GenerateResponse>();
  private numOpen: number;
  private done = false;

  constructor(
    readonly request: NormalizedRequest,
    private readonly facts: ModelFacts,
    private readonly scheduler: Scheduler,
    resume?: ResumeState,
  ) {
    const seqs: Sequence[] = [];
    // Unique per attempt: a re-delivered request never reuses ids the kv-manager saw freed.
    const seqIdPrefix = `${scheduler.ownerId}.${(generationCounter++).toString(36)}:`;
    for (let i = 0; i < request.n; i++) {
      const seq = new Sequence({
        requestId: request.requestId,
        publicRequestId: request.clientRequestId || request.requestId,
        sampleIndex: i,
        promptIds: request.promptIds,
        sampling: request.sampling,
        rules: request.rules,
        tokenizer: facts.tokenizer,
        skipSpecialTokens: request.skipSpecialTokens,
        cacheSalt: request.cacheSalt,
        seqIdPrefix,
        logprobs: request.logprobs,
        onDelta: (s, d) => this.onDelta(s, d),
        resumeOutputIds: resume?.outputIds[i],
        resumeFinished: resume?.finished[i],
        after: i > 0 ? seqs[0] : undefined,
        grammarEbnf: request.grammarEbnf,
        embedPooling: request.embedPooling,
        onEmbedding: (s, v) => this.onEmbedding(s, v),
        promptLogprobs: i === 0 ? request.promptLogprobs : undefined,
        trace: i === 0 && request.trace ? new TraceCollector(request.trace, facts) : undefined,
      });
      seqs.push(seq);
    }
    this.sequences = seqs;
    this.numOpen = seqs.filter((s) => s.status !== 'finished').length;
  }

  /** Hands the samples to the scheduler; the stream ends at once when a resume finds them all done. */
  start(): this {
    if (this.numOpen > 0) {
      this.scheduler.add(this.sequences);
      return this;
    }
    // Resumed after every sample finished but before the usage message was written: write it now.
    const s0 = this.sequences[0];
    this.queue.push({
      index: 0, tokenIds: [], text: '', logprobs: [], finishReason: inference.FinishReason.FINISH_REASON_UNSPECIFIED, stopReason: '',
      tokenOffset: s0.outputIds.length, usage: this.usage, requestId: this.responseId, stopTokenId: undefined, embeddingF32: Buffer.alloc(0), promptLogprobs: [], trace: undefined,
    });
    this.finishStream();
    return this;
  }

  /** The response stream; leaving it early cancels the request. */
  async *responses(): AsyncGenerator<inference.GenerateResponse> {
    try {
      yield* this.queue;
    } finally {
      this.cancel();
    }
  }

  /** Ends unfinished samples with 'abort' at the next step and frees their blocks. */
  cancel(): void {
    if (this.done) return;
    this.scheduler.cancel(this.sequences.filter((s) => s.status !== 'finished'));
  }

  /** The id responses carry: the caller's request_id when it gave one, else the platform's. */
  get responseId(): string {
    return this.request.clientRequestId || this.request.requestId;
  }

  get usage(): inference.Usage {
    let completion = 0;
    for (const s of this.sequences) completion += s.outputIds.length;
    return { promptTokens: this.request.promptIds.length, completionTokens: completion, cachedPromptTokens: this.sequences[0].numCachedPromptTokens };
  }

  private onDelta(seq: Sequence, d: SampleDelta): void {
    if (d.error) {
      this.done = true;
      this.scheduler.cancel(this.sequences.filter((s) => s !== seq && s.status !== 'finished'));
      this.queue.fail(d.error instanceof ServerError ? d.error : new ServerError(Status.UNAVAILABLE, `generation failed: ${d.error.message}`));
      return;
    }
    const msg: inference.GenerateResponse = {
      index: d.sampleIndex,
      tokenIds: d.tokenIds,
      text: d.text,
      logprobs: d.logprobs.map((lp) => ({
        tokenId: lp.tokenId,
        token: this.tokenText(lp.tokenId),
        logprob: lp.logprob,
        topLogprobs: lp.top.map((t) => ({ tokenId: t.tokenId, token: this.tokenText(t.tokenId), logprob: t.logprob })),
      })),
      finishReason: d.finishReason ? FINISH[d.finishReason] : inference.FinishReason.FINISH_REASON_UNSPECIFIED,
      stopReason: d.stopReason ?? '',
      stopTokenId: d.stopTokenId,
      tokenOffset: d.tokenOffset,
      usage: undefined,
      requestId: this.responseId,
      embeddingF32: Buffer.alloc(0),
      promptLogprobs: (d.promptLogprobs ?? []).map((lp) => ({
        tokenId: lp.tokenId,
        token: this.tokenText(lp.tokenId),
        logprob: lp.logprob,
        topLogprobs: lp.top.map((t) => ({ tokenId: t.tokenId, token: this.tokenText(t.tokenId), logprob: t.logprob })),
      })),
      trace: undefined,
    };
    if (d.finishReason && --this.numOpen === 0) msg.usage = this.usage;
    if (msg.usage && this.sequences[0].trace) msg.trace = this.sequences[0].trace.toProto(this.sequences[0]);
    this.queue.push(msg);
    if (this.numOpen === 0) this.finishStream();
  }

  /** An embedding request's only message: the vector, with usage. */
  private onEmbedding(seq: Sequence, vector: Float32Array): void {
    this.queue.push({
      index: seq.sampleIndex, tokenIds: [], text: '', logprobs: [], finishReason: inference.FinishReason.FINISH_REASON_STOP, stopReason: '',
      tokenOffset: 0, usage: { promptTokens: this.request.promptIds.length, completionTokens: 0, cachedPromptTokens: 0 }, requestId: this.request.requestId,
      embeddingF32: Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength), promptLogprobs: [], trace: undefined,
    });
    if (--this.numOpen === 0) this.finishStream();
  }

  private finishStream(): void {
    this.done = true;
    this.queue.end();
  }

  private tokenText(id: number): string {
    return this.facts.tokenizer.decode([id]);
  }
}
