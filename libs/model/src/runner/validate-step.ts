/*
 * Validation of one step request against the worker's model, pool and limits, done in full
 * before anything is written: a bad sequence, block id, position or sampling parameter is
 * rejected with a RunnerError naming the sequence and field, and the pool, the cached sampling
 * states and the other sequences stay as they were.
 *
 * What this is not: the allocator's bookkeeping. The worker cannot know which blocks a sequence
 * owns (the kv-manager does); it checks what it can: ids inside the pool and not the null block,
 * enough blocks for the positions, no two new tokens written to one slot, positions that do not
 * skip past what this worker computed for the sequence.
 */
import { invalidSeq, RunnerError } from './errors';
import { MAX_TOP_LOGPROBS, type StepInput, type StepSamplingParams, type StepSequenceInput } from './step-types';

/** What validation needs to know about the worker. */
export interface StepLimits {
  vocabSize: number;
  maxPositions: number;
  numBlocks: number;
  blockSize: number;
  maxBatchSequences: number;
  maxBatchTokens: number;
}

/** The worker's view of a cached sequence, as far as validation needs it. */
export interface KnownSequence {
  /** Positions 0 .. numComputedTokens - 1 were computed by this worker; undefined when not tracked. */
  numComputedTokens: number | undefined;
}

export function validateStep(input: StepInput, limits: StepLimits, known: (seqId: string) => KnownSequence | undefined): void {
  const seqs = input.sequences;
  if (!Array.isArray(seqs)) throw new RunnerError('INVALID_ARGUMENT', 'sequences must be a list', undefined, 'sequences');
  if (seqs.length > limits.maxBatchSequences) {
    throw new RunnerError(
      'INVALID_ARGUMENT',
      `sequences has ${seqs.length} entries, more than this worker's max_batch_sequences ${limits.maxBatchSequences}`,
      undefined,
      'sequences',
    );
  }
  let numTokens = 0;
  const seen = new Set<string>();
  for (const seq of seqs) {
    if (typeof seq.seqId !== 'string' || seq.seqId === '') {
      throw new RunnerError('INVALID_ARGUMENT', 'a sequence has an empty seq_id', undefined, 'seq_id');
    }
    if (seen.has(seq.seqId)) throw invalidSeq(seq.seqId, 'seq_id', 'appears twice in one step');
    seen.add(seq.seqId);
    numTokens += seq.tokenIds?.length ?? 0;
  }
  if (numTokens > limits.maxBatchTokens) {
    throw new RunnerError(
      'INVALID_ARGUMENT',
      `the step carries ${numTokens} tokens, more than this worker's max_batch_tokens ${limits.maxBatchTokens}`,
      undefined,
      'sequences',
    );
  }
  for (const seq of seqs) validateSequence(seq, limits, known(seq.seqId));
  validateSlotsDisjoint(seqs, limits.blockSize);
  validateCopies(input.copies ?? [], limits.numBlocks);
}

function validateSequence(seq: StepSequenceInput, limits: StepLimits, cached: KnownSequence | undefined): void {
  const id = seq.seqId;
  const n = seq.tokenIds?.length ?? 0;
  if (n === 0) throw invalidSeq(id, 'token_ids', 'is empty (expected a prefill chunk or one decode token)');
  checkTokenIds(id, 'token_ids', seq.tokenIds, limits.vocabSize);
  const start = seq.startPosition;
  if (!Number.isInteger(start) || start < 0) throw invalidSeq(id, 'start_position', `= ${start} (expected an integer >= 0)`);
  const contextLen = start + n;
  if (contextLen > limits.maxPositions) {
    throw invalidSeq(id, 'start_position', `+ ${n} new tokens = ${contextLen} exceeds the model's ${limits.maxPositions} positions`);
  }
  if (!seq.state && !cached) {
    throw new RunnerError(
      'FAILED_PRECONDITION',
      `sequence ${JSON.stringify(id)}: the worker has no sampling state for it; resend the step with the full state`,
      id,
      'state',
    );
  }
  const computed = seq.state ? undefined : cached?.numComputedTokens;
  if (computed !== undefined && start > computed) {
    throw invalidSeq(id, 'start_position', `= ${start} skips positions: this worker computed 0..${computed - 1} (expected <= ${computed})`);
  }
  const spec = seq.numSpeculativeTokens ?? 0;
  if (!Number.isInteger(spec) || spec < 0) throw invalidSeq(id, 'num_speculative_tokens', `= ${spec} (expected an integer >= 0)`);
  if (spec > 0 && !seq.sample) throw invalidSeq(id, 'num_speculative_tokens', `= ${spec} needs sample = true (drafts follow a sampled token)`);
  // lookahead slots: the drafts' positions (never past the context limit) must be covered too
  checkBlockIds(id, seq.blockIds, Math.ceil(Math.min(contextLen + spec, limits.maxPositions) / limits.blockSize), limits.numBlocks);
  if (seq.state) {
    checkParams(id, seq.state.params, limits.vocabSize);
    checkTokenIds(id, 'state.prompt_token_ids', seq.state.promptTokenIds ?? [], limits.vocabSize);
    checkTokenIds(id, 'state.output_token_ids', seq.state.outputTokenIds ?? [], limits.vocabSize);
  }
  checkTokenIds(id, 'appended_output_token_ids', seq.appendedOutputTokenIds ?? [], limits.vocabSize);
}

function checkTokenIds(id: string, field: string, ids: ArrayLike<number>, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i];
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw invalidSeq(id, `${field}[${i}]`, `= ${t} is not a token id (expected 0..${vocabSize - 1})`);
    }
  }
}

function checkBlockIds(id: string, blockIds: ArrayLike<number>, needed: number, numBlocks: number): void {
  const have = blockIds?.length ?? 0;
  if (have < needed) {
    throw invalidSeq(id, 'block_ids', `has ${have} blocks; its positions need ${needed}`);
  }
  for (let b = 0; b < have; b++) {
    const block = blockIds[b];
    if (!Number.isInteger(block) || block < 1 || block >= numBlocks) {
      throw invalidSeq(
        id,
        `block_ids[${b}]`,
        `= ${block} is outside the pool (expected 1..${numBlocks - 1}; block 0 is the reserved null block)`,
      );
    }
  }
}

/** No two new tokens of the step (speculative drafts' lookahead slots included) may be written to the same slot. */
function validateSlotsDisjoint(seqs: StepSequenceInput[], blockSize: number): void {
  const owner = new Map<number, string>();
  for (const seq of seqs) {
    const n = seq.tokenIds.length + (seq.numSpeculativeTokens ?? 0);
    for (let t = 0; t < n && Math.floor((seq.startPosition + t) / blockSize) < seq.blockIds.length; t++) {
      const pos = seq.startPosition + t;
      const slot = seq.blockIds[Math.floor(pos / blockSize)] * blockSize + (pos % blockSize);
      const other = owner.get(slot);
      if (other !== undefined) {
        throw invalidSeq(seq.seqId, 'block_ids', `writes position ${pos} into slot ${slot}, which sequence ${JSON.stringify(other)} also writes in this step`);
      }
      owner.set(slot, seq.seqId);
    }
  }
}

function validateCopies(copies: ReadonlyArray<{ src: number; dst: number }>, numBlocks: number): void {
  copies.forEach(({ src, dst }, i) => {
    for (const [name, block] of [['src_block_id', src], ['dst_block_id', dst]] as const) {
      if (!Number.isInteger(block) || block < 1 || block >= numBlocks) {
        throw new RunnerError(
          'INVALID_ARGUMENT',
          `copies[${i}].${name} = ${block} is outside the pool (expected 1..${numBlocks - 1})`,
          undefined,
          `copies[${i}].${name}`,
        );
      }
    }
    if (src === dst) {
      throw new RunnerError('INVALID_ARGUMENT', `copies[${i}] copies block ${src} onto itself`, undefined, `copies[${i}]`);
    }
  });
}

function checkParams(id: string, p: StepSamplingParams, vocabSize: number): void {
  const f = (field: string, what: string) => invalidSeq(id, `state.params.${field}`, what);
  if (!p) throw invalidSeq(id, 'state.params', 'is missing');
  if (!(Number.isFinite(p.temperature) && p.temperature >= 0)) throw f('temperature', `= ${p.temperature} (expected >= 0)`);
  if (!(Number.isInteger(p.topK) && p.topK >= 0)) throw f('top_k', `= ${p.topK} (expected an integer >= 0)`);
  if (!(p.topP >= 0 && p.topP <= 1)) throw f('top_p', `= ${p.topP} (expected 0..1)`);
  if (!(p.minP >= 0 && p.minP <= 1)) throw f('min_p', `= ${p.minP} (expected 0..1)`);
  if (!(Number.isFinite(p.repetitionPenalty) && p.repetitionPenalty > 0)) {
    throw f('repetition_penalty', `= ${p.repetitionPenalty} (expected > 0; 1 disables)`);
  }
  if (!(p.presencePenalty >= -2 && p.presencePenalty <= 2)) throw f('presence_penalty', `= ${p.presencePenalty} (expected -2..2)`);
  if (!(p.frequencyPenalty >= -2 && p.frequencyPenalty <= 2)) throw f('frequency_penalty', `= ${p.frequencyPenalty} (expected -2..2)`);
  if (!isUnsigned(p.seed)) throw f('seed', `= ${p.seed} (expected an unsigned 64-bit integer)`);
  if (!(Number.isInteger(p.sampleIndex) && p.sampleIndex >= 0)) throw f('sample_index', `= ${p.sampleIndex} (expected an integer >= 0)`);
  if (!(Number.isInteger(p.numTopLogprobs) && p.numTopLogprobs >= 0 && p.numTopLogprobs <= Math.min(MAX_TOP_LOGPROBS, vocabSize))) {
    throw f('num_top_logprobs', `= ${p.numTopLogprobs} (expected 0..${Math.min(MAX_TOP_LOGPROBS, vocabSize)})`);
  }
  for (const [tok, bias] of p.logitBias ?? new Map<number, number>()) {
    if (!Number.isInteger(tok) || tok < 0 || tok >= vocabSize) throw f(`logit_bias[${tok}]`, `names no token (expected 0..${vocabSize - 1})`);
    if (!(bias >= -100 && bias <= 100)) throw f(`logit_bias[${tok}]`, `= ${bias} (expected -100..100)`);
  }
}

function isUnsigned(seed: number | bigint): boolean {
  return typeof seed === 'bigint' ? seed >= 0n && seed < 2n ** 64n : Number.isSafeInteger(seed) && seed >= 0;
}
