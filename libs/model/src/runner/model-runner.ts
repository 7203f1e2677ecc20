/*
 * ModelRunner: the attention worker's engine. Owns the physical KV pool and a step backend;
 * runs one scheduler step at a time: validate everything, apply copy-on-write block copies,
 * build the flat token batch (slot mapping from block tables), run the backend (which writes
 * the new K/V and attends over the blocks), sample each sampling sequence's next token from its
 * logits row, update the cached sampling states.
 *
 * What this is not: a transport (apps/attention-worker maps protos onto it) or a scheduler (it
 * never decides that a sequence has finished and never allocates blocks). Full logits never
 * leave it: only sampled ids and logprobs do.
 *
 * NOTE: a step that fails inside the backend (e.g. the MoE router is down) may have written some
 * of its new K/V slots; only slots of that step's new tokens, which the scheduler rewrites when it
 * retries, so no other sequence's context changes. Sampling states are updated only on success.
 *
 * Grammars: a sequence whose state carries an EBNF grammar gets a TokenMatcher (seq-state.ts). A
 * mask depends only on the grammar state, not on the logits, so the masks of every constrained
 * sequence are computed while the forward runs (the ORT backend computes on its own threads; the
 * TS backend is synchronous, so there they simply follow it), then applied to the logits
 * (disallowed tokens -> -Infinity) in one pass over the batch before any row is sampled: greedy,
 * temperature, top-k/p and n > 1 all draw from allowed tokens only.
 * Embeddings: an embedding sequence's rows are all logit rows; their final-norm hidden states are
 * pooled (mean or last) across its chunks and returned on its last step instead of a sample.
 *
 * Internals trace: a sequence with trace options gets what the step recorded for it (attention
 * rows and MoE routing from the backend, the draw's candidates here, with the grammar mask's
 * effect); a step without trace options runs exactly as before (step-trace.ts is not called).
 *
 * Speculative decoding: a sequence sent with num_speculative_tokens k (and block ids covering k
 * lookahead slots) gets up to k drafts from the runner's Speculator, appended to its new tokens in
 * the same flat batch; its last 1 + d rows are logit rows, verified in order (verify-drafts.ts):
 * the output is the accepted drafts plus one more draw. Rejected drafts' K/V stays in slots past
 * numComputedTokens, which the next step overwrites. Sequences with a grammar, logprobs, prompt
 * logprobs, pooling or a trace never speculate.
 *
 * Follows the vLLM v1 worker's split (scheduler output -> input batch -> model runner -> sampler)
 * and ARCHITECTURE.md's step protocol (copies before writes; state resent when unknown;
 * counter-based randomness u = hash(seed, sample index, output position)).
 */
import { applyTokenMask, type GrammarEngine } from '@llm/grammar';
import { applyBlockCopies } from './kv-pool';
import { buildFlatBatch } from './flat-batch';
import { RunnerError } from './errors';
import { promptLogprobsOf } from './prompt-logprobs';
import { sampleSequence } from './sample-seq';
import { SeqStateCache, type CachedSeqState } from './seq-state';
import { checkStepTrace, forwardTraceOf, samplingTraceOf, stepTraceOf, type TraceLimits } from './step-trace';
import type { SequenceOutput, StepInput, StepOutput, StepSequenceInput } from './step-types';
import type { ForwardExtras, KvPool, StepBackend } from './types';
import { validateStep, type StepLimits } from './validate-step';
import { verifyDrafts } from './verify-drafts';
import type { Draft, DraftRequest, Speculator } from '../speculative/speculator';

export interface ModelRunnerOptions {
  backend: StepBackend;
  pool: KvPool;
  vocabSize: number; // V
  maxPositions: number; // context limit in tokens
  maxBatchSequences: number;
  maxBatchTokens: number;
  /** Grammar engine over the model's vocabulary; without one, grammars are refused. */
  grammar?: GrammarEngine;
  /** Query heads NH (checks trace options; default: the pool's kv heads, i.e. unchecked beyond them). */
  numHeads?: number;
  /** Draft source for speculative decoding; without one, num_speculative_tokens is ignored. */
  speculator?: Speculator;
}

export class ModelRunner {
  readonly backend: StepBackend;
  readonly pool: KvPool;
  readonly limits: StepLimits;
  private readonly states: SeqStateCache;
  readonly supportsGrammar: boolean;
  private readonly traceLimits: TraceLimits;
  private queue: Promise<unknown> = Promise.resolve();
  readonly speculator: Speculator | undefined;

  constructor(opts: ModelRunnerOptions) {
    for (const key of ['vocabSize', 'maxPositions', 'maxBatchSequences', 'maxBatchTokens'] as const) {
      if (!Number.isInteger(opts[key]) || opts[key] < 1) throw new RangeError(`ModelRunner: ${key} = ${opts[key]} must be a positive integer`);
    }
    this.backend = opts.backend;
    this.pool = opts.pool;
    this.states = new SeqStateCache(opts.grammar);
    this.supportsGrammar = opts.grammar !== undefined;
    this.speculator = opts.speculator;
    this.traceLimits = { traceable: opts.backend.traceable, numLayers: opts.pool.numLayers, numHeads: opts.numHeads ?? opts.pool.numKvHeads };
    this.limits = {
      vocabSize: opts.vocabSize,
      maxPositions: opts.maxPositions,
      numBlocks: opts.pool.numBlocks,
      blockSize: opts.pool.blockSize,
      maxBatchSequences: opts.maxBatchSequences,
      maxBatchTokens: opts.maxBatchTokens,
    };
  }

  /** Number of sequences whose sampling state is cached. */
  get numCachedSequences(): number {
    return this.states.size;
  }

  /** Runs one step. Steps are serialised: a second call waits for the first to finish. */
  step(input: StepInput): Promise<StepOutput> {
    const run = this.queue.then(() => this.runStep(input));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    await this.queue;
    await this.speculator?.dispose?.();
    await this.backend.dispose();
  }

  private async runStep(request: StepInput): Promise<StepOutput> {
    const t0 = process.hrtime.bigint();
    const input = request.sequences.some((s) => s.usePreviousToken) ? { ...request, sequences: request.sequences.map((s) => this.resolvePreviousToken(s)) } : request;
    validateStep(input, this.limits, (id) => this.states.get(id));
    const traced = input.sequences.some((s) => s.trace);
    if (traced) checkStepTrace(input, this.traceLimits);
    // Full states first (a grammar that does not compile fails the step before anything is written).
    const seqStates: CachedSeqState[] = [];
    for (const s of input.sequences) {
      seqStates.push(s.state ? await this.states.put(s.seqId, s.state) : (this.states.get(s.seqId) as CachedSeqState));
      if (s.state) this.speculator?.reset?.(s.seqId);
    }
    applyBlockCopies(this.pool, input.copies ?? []);
    await this.backend.applyBlockCopies?.(this.pool, input.copies ?? []);
    this.speculator?.applyCopies?.(input.copies ?? []);
    input.sequences.forEach((seq, i) => this.states.appendOutput(seqStates[i], seq.appendedOutputTokenIds ?? [])); // before masks
    const td = process.hrtime.bigint();
    const drafts = await this.proposeDrafts(input, seqStates);
    const draftNs = drafts ? process.hrtime.bigint() - td : 0n;
    const numDrafts = (i: number) => drafts?.[i]?.tokens.length ?? 0;
    const batch = buildFlatBatch(drafts ? input.sequences.map((s, i) => (numDrafts(i) > 0 ? { ...s, tokenIds: [...Array.from(s.tokenIds), ...(drafts[i] as Draft).tokens], numDraftTokens: numDrafts(i) } : s)) : input.sequences, this.pool.blockSize);
    const masks = this.grammarMasks(input, seqStates); // overlaps the forward
    masks?.catch(() => undefined); // a failed forward leaves it unawaited
    const trace = traced ? forwardTraceOf(input, this.traceLimits) : undefined;
    const extras: ForwardExtras | undefined = trace || input.sequences.some((s) => s.embedPooling) ? { trace } : undefined;
    let logits: Float32Array = new Float32Array(0); // a step with no tokens (e.g. only releases) runs no forward
    let forwardNs = 0n;
    if (batch.tokenIds.length > 0) {
      const tf = process.hrtime.bigint();
      try {
        logits = await this.backend.forward(batch, this.pool, extras);
      } catch (err) {
        throw asRunnerError(err);
      }
      forwardNs = process.hrtime.bigint() - tf;
    }
    const V = this.limits.vocabSize;
    if (logits.length !== batch.logitRows.length * V) {
      throw new RunnerError('INTERNAL', `backend ${this.backend.name} returned ${logits.length} logits (expected ${batch.logitRows.length} x ${V})`);
    }
    // First logit row of each sequence (an embedding sequence has one per new token).
    const firstRow: number[] = [];
    let r = 0;
    for (const seq of input.sequences) {
      firstRow.push(r);
      r += seq.embedPooling || seq.promptLogprobs ? seq.tokenIds.length : seq.sample ? 1 + numDrafts(firstRow.length - 1) : 0;
    }
    // The sampled row of a sequence: its last new token's row.
    const sampleRow = input.sequences.map((seq, i) => (seq.promptLogprobs ? firstRow[i] + seq.tokenIds.length - 1 : firstRow[i]));
    const unmasked = traced && masks ? unmaskedRows(input, sampleRow, logits, V) : undefined; // before the masks
    const grammarNs = await this.applyGrammarMasks(masks, sampleRow, logits);
    const outputs = input.sequences.map((seq, i): SequenceOutput => {
      const state = seqStates[i];
      state.numComputedTokens = seq.startPosition + seq.tokenIds.length;
      if (seq.embedPooling) return this.poolHidden(seq.seqId, seq.embedPooling, seq.tokenIds.length, seq.sample, state, extras?.hidden as Float32Array, firstRow[i], r);
      const promptLogprobs = seq.promptLogprobs ? promptLogprobsOf(logits, V, firstRow[i], seq.startPosition, seq.tokenIds.length, state.promptTokenIds, state.params.numTopLogprobs) : undefined;
      const stepTrace = seq.trace ? stepTraceOf(trace, i) : undefined;
      if (!seq.sample) return { seqId: seq.seqId, sampled: false, tokenId: 0, logprob: 0, topLogprobs: [], promptLogprobs, trace: stepTrace };
      const draft = drafts?.[i];
      if (draft) {
        const v = verifyDrafts(logits, firstRow[i], V, draft.tokens, draft.q, state, (t) => this.states.appendOutput(state, [t]));
        state.numComputedTokens += v.numAccepted; // the accepted drafts' K/V is in place; the last draw's is not
        const more = { nextTokenIds: v.tokens.slice(1), nextLogprobs: v.logprobs.slice(1), numDraftTokens: draft.tokens.length, numAcceptedDraftTokens: v.numAccepted };
        return { seqId: seq.seqId, sampled: true, tokenId: v.tokens[0], logprob: v.logprobs[0], topLogprobs: [], ...more };
      }
      const row = logits.subarray(sampleRow[i] * V, (sampleRow[i] + 1) * V);
      const drawn = sampleSequence(row, state);
      if (stepTrace && seq.trace?.samplingTop) {
        stepTrace.sampling = samplingTraceOf(row, state.matcher ? unmasked?.get(i) : undefined, state, seq.trace.samplingTop, drawn.tokenId, seq.startPosition + seq.tokenIds.length);
      }
      this.states.appendOutput(state, [drawn.tokenId]);
      return { seqId: seq.seqId, sampled: true, ...drawn, promptLogprobs, trace: stepTrace };
    });
    this.states.release(input.releaseSeqIds ?? []);
    this.speculator?.release?.(input.releaseSeqIds ?? []);
    return { outputs, numTokens: batch.tokenIds.length, forwardNs, stepNs: process.hrtime.bigint() - t0, grammarNs, draftNs };
  }

  /**
   * Async scheduling: a sequence whose one new token is the token this worker sampled for it last
   * (the scheduler sent this step before it knew that token). The previous step ran first (steps
   * are serialised), so the state ends with that token, at position startPosition.
   */
  private resolvePreviousToken(seq: StepSequenceInput): StepSequenceInput {
    if (!seq.usePreviousToken) return seq;
    const why = (text: string) => `sequence ${JSON.stringify(seq.seqId)}: use_previous_token: ${text}`;
    if (seq.tokenIds.length > 0) throw new RunnerError('INVALID_ARGUMENT', why('token_ids must be empty (the token is the one this worker sampled last)'), seq.seqId, 'token_ids');
    // The worker lost the state (a restart) or the step arrived before the one that samples: a state problem, not a bad request.
    const st = this.states.get(seq.seqId);
    if (!st || st.outputTokenIds.length === 0) throw new RunnerError('FAILED_PRECONDITION', why('this worker has sampled no token for the sequence'), seq.seqId, 'use_previous_token');
    const known = st.promptTokenIds.length + st.outputTokenIds.length; // the last sampled token sits at position known - 1
    if (seq.startPosition !== known - 1) throw new RunnerError('FAILED_PRECONDITION', why(`start_position ${seq.startPosition} is not the sampled token's position ${known - 1}`), seq.seqId, 'start_position');
    return { ...seq, tokenIds: [st.outputTokenIds[st.outputTokenIds.length - 1]], usePreviousToken: false };
  }

  /**
   * Drafts for the sequences that may speculate (undefined entries for the rest; undefined when
   * none may). k is capped by the context limit and the step's token limit.
   */
  private async proposeDrafts(input: StepInput, states: CachedSeqState[]): Promise<(Draft | undefined)[] | undefined> {
    if (!this.speculator) return undefined;
    let budget = this.limits.maxBatchTokens - input.sequences.reduce((n, s) => n + s.tokenIds.length, 0);
    const requests: DraftRequest[] = [];
    const index: number[] = [];
    input.sequences.forEach((seq, i) => {
      const st = states[i];
      const end = seq.startPosition + seq.tokenIds.length; // T
      const k = Math.min(seq.numSpeculativeTokens ?? 0, this.limits.maxPositions - end, budget);
      const eligible = seq.sample && !seq.embedPooling && !seq.promptLogprobs && !seq.trace && !st.matcher && st.params.numTopLogprobs === 0;
      if (k < 1 || !eligible || st.promptTokenIds.length + st.outputTokenIds.length !== end) return; // tokens must be the state's
      budget -= k;
      const sampling = st.params.temperature > 0 ? { params: st.samplerParams, counts: st.counts, seed: st.params.seed, sampleIndex: st.params.sampleIndex, numOutputTokens: st.numOutputTokens } : undefined;
      requests.push({ seqId: seq.seqId, tokens: [...Array.from(st.promptTokenIds), ...st.outputTokenIds], blockIds: seq.blockIds, k, sampling });
      index.push(i);
    });
    if (requests.length === 0) return undefined;
    const proposed = await this.speculator.propose(requests);
    const out: (Draft | undefined)[] = new Array(input.sequences.length);
    index.forEach((i, j) => {
      const d = proposed[j];
      const k = requests[j].k;
      if (d.tokens.length > 0) out[i] = { tokens: d.tokens.slice(0, k), q: d.q?.slice(0, k) };
    });
    return out;
  }

  /** Starts every constrained sequence's mask (sequence index -> mask), with the time it took. */
  private grammarMasks(input: StepInput, states: CachedSeqState[]): Promise<{ masks: Map<number, Int32Array>; ns: bigint }> | undefined {
    const todo = input.sequences.map((seq, i) => (seq.sample && !seq.embedPooling && states[i].matcher ? i : -1)).filter((i) => i >= 0);
    if (todo.length === 0) return undefined;
    return (async () => {
      const masks = new Map<number, Int32Array>();
      const t0 = process.hrtime.bigint();
      for (const i of todo) masks.set(i, await (states[i].matcher as NonNullable<CachedSeqState['matcher']>).nextTokenMask());
      return { masks, ns: process.hrtime.bigint() - t0 };
    })();
  }

  /** Applies the batch's masks to their logit rows in one pass; returns the time spent on masks. */
  private async applyGrammarMasks(pending: ReturnType<ModelRunner['grammarMasks']>, firstRow: number[], logits: Float32Array): Promise<bigint> {
    if (!pending) return 0n;
    const { masks, ns } = await pending;
    const t0 = process.hrtime.bigint();
    const V = this.limits.vocabSize;
    for (const [i, mask] of masks) applyTokenMask(logits.subarray(firstRow[i] * V, (firstRow[i] + 1) * V), mask); // (V) per row
    return ns + (process.hrtime.bigint() - t0);
  }

  /** Adds an embedding sequence's hidden rows (n, C) to its pool; on its last step returns the vector. */
  private poolHidden(seqId: string, pooling: 'mean' | 'last', n: number, last: boolean, state: CachedSeqState, hidden: Float32Array, row0: number, numRows: number): SequenceOutput {
    const width = hidden.length / numRows; // C
    state.pooled ??= { pooling, sum: new Float64Array(width), last: new Float32Array(width), count: 0 };
    const p = state.pooled;
    for (let t = 0; t < n; t++) {
      const h = hidden.subarray((row0 + t) * width, (row0 + t + 1) * width); // (C)
      for (let c = 0; c < width; c++) p.sum[c] += h[c];
      p.last.set(h);
    }
    p.count += n;
    const out: SequenceOutput = { seqId, sampled: false, tokenId: 0, logprob: 0, topLogprobs: [] };
    if (last) out.embedding = p.pooling === 'last' ? Float32Array.from(p.last) : Float32Array.from(p.sum, (x) => x / p.count); // mean = sum / T
    return out;
  }
}

/** Copies of the sampled rows of traced sequences that ask for candidates, before any grammar mask. */
function unmaskedRows(input: StepInput, sampleRow: number[], logits: Float32Array, V: number): Map<number, Float32Array> {
  const rows = new Map<number, Float32Array>();
  input.sequences.forEach((seq, i) => {
    if (seq.sample && seq.trace?.samplingTop) rows.set(i, logits.slice(sampleRow[i] * V, (sampleRow[i] + 1) * V)); // (V)
  });
  return rows;
}

/** A backend failure: a RunnerError passes through (e.g. an MoE executor's UNAVAILABLE), anything else is INTERNAL. */
function asRunnerError(err: unknown): RunnerError {
  if (err instanceof RunnerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown })?.code;
  // gRPC status 14 = UNAVAILABLE, 4 = DEADLINE_EXCEEDED (a remote MoE router that is down or slow)
  if (code === 14 || code === 4 || code === 'UNAVAILABLE') return new RunnerError('UNAVAILABLE', `step forward failed: ${message}`);
  return new RunnerError('INTERNAL', `step forward failed: ${message}`);
}
