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
 * Follows the vLLM v1 worker's split (scheduler output -> input batch -> model runner -> sampler)
 * and ARCHITECTURE.md's step protocol (copies before writes; state resent when unknown;
 * counter-based randomness u = hash(seed, sample index, output position)).
 */
import { applyBlockCopies } from './kv-pool';
import { buildFlatBatch } from './flat-batch';
import { RunnerError } from './errors';
import { sampleSequence } from './sample-seq';
import { SeqStateCache, type CachedSeqState } from './seq-state';
import type { SequenceOutput, StepInput, StepOutput } from './step-types';
import type { KvPool, StepBackend } from './types';
import { validateStep, type StepLimits } from './validate-step';

export interface ModelRunnerOptions {
  backend: StepBackend;
  pool: KvPool;
  vocabSize: number; // V
  maxPositions: number; // context limit in tokens
  maxBatchSequences: number;
  maxBatchTokens: number;
}

export class ModelRunner {
  readonly backend: StepBackend;
  readonly pool: KvPool;
  readonly limits: StepLimits;
  private readonly states = new SeqStateCache();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: ModelRunnerOptions) {
    for (const key of ['vocabSize', 'maxPositions', 'maxBatchSequences', 'maxBatchTokens'] as const) {
      if (!Number.isInteger(opts[key]) || opts[key] < 1) throw new RangeError(`ModelRunner: ${key} = ${opts[key]} must be a positive integer`);
    }
    this.backend = opts.backend;
    this.pool = opts.pool;
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
    await this.backend.dispose();
  }

  private async runStep(input: StepInput): Promise<StepOutput> {
    const t0 = process.hrtime.bigint();
    validateStep(input, this.limits, (id) => this.states.get(id));
    // Nothing has changed yet; from here on the step is valid.
    applyBlockCopies(this.pool, input.copies ?? []);
    const seqStates = input.sequences.map((s) => (s.state ? this.states.put(s.seqId, s.state) : (this.states.get(s.seqId) as CachedSeqState)));
    const batch = buildFlatBatch(input.sequences, this.pool.blockSize);
    let logits: Float32Array = new Float32Array(0); // a step with no tokens (e.g. only releases) runs no forward
    let forwardNs = 0n;
    if (batch.tokenIds.length > 0) {
      const tf = process.hrtime.bigint();
      try {
        logits = await this.backend.forward(batch, this.pool);
      } catch (err) {
        throw asRunnerError(err);
      }
      forwardNs = process.hrtime.bigint() - tf;
    }
    const V = this.limits.vocabSize;
    if (logits.length !== batch.logitRows.length * V) {
      throw new RunnerError('INTERNAL', `backend ${this.backend.name} returned ${logits.length} logits (expected ${batch.logitRows.length} x ${V})`);
    }
    let r = 0;
    const outputs = input.sequences.map((seq, i): SequenceOutput => {
      const state = seqStates[i];
      this.states.appendOutput(state, seq.appendedOutputTokenIds ?? []);
      state.numComputedTokens = seq.startPosition + seq.tokenIds.length;
      if (!seq.sample) return { seqId: seq.seqId, sampled: false, tokenId: 0, logprob: 0, topLogprobs: [] };
      const row = logits.subarray(r * V, (r + 1) * V);
      r++;
      const drawn = sampleSequence(row, state);
      this.states.appendOutput(state, [drawn.tokenId]);
      return { seqId: seq.seqId, sampled: true, ...drawn };
    });
    this.states.release(input.releaseSeqIds ?? []);
    return { outputs, numTokens: batch.tokenIds.length, forwardNs, stepNs: process.hrtime.bigint() - t0 };
  }
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
