/*
 * Step validation: each kind of bad input named in the worker issue (block table outside the pool,
 * positions that skip, a batch larger than configured, a sampling parameter out of range, an
 * unknown sequence without state) is rejected with the right code, naming sequence and field.
 */
import { RunnerError } from './errors';
import type { StepInput, StepSamplingParams, StepSequenceInput } from './step-types';
import { validateStep, type KnownSequence, type StepLimits } from './validate-step';

const limits: StepLimits = { vocabSize: 50, maxPositions: 64, numBlocks: 8, blockSize: 4, maxBatchSequences: 3, maxBatchTokens: 12 };

const params = (over: Partial<StepSamplingParams> = {}): StepSamplingParams => ({
  temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
  logitBias: new Map(), seed: 0n, sampleIndex: 0, numTopLogprobs: 0, ...over,
});

const seq = (over: Partial<StepSequenceInput> = {}): StepSequenceInput => ({
  seqId: 'a', tokenIds: [1, 2, 3], startPosition: 0, blockIds: [1], sample: true,
  state: { params: params(), promptTokenIds: [1, 2, 3], outputTokenIds: [] }, ...over,
});

function errorOf(input: StepInput, known: Record<string, KnownSequence> = {}): RunnerError {
  try {
    validateStep(input, limits, (id) => known[id]);
  } catch (e) {
    if (e instanceof RunnerError) return e;
    throw e;
  }
  throw new Error('expected validateStep to throw');
}

describe('validateStep', () => {
  it('accepts a mixed step of a prefill chunk and a decode of a cached sequence', () => {
    const input = { sequences: [seq(), seq({ seqId: 'b', tokenIds: [7], startPosition: 5, blockIds: [2, 3], state: undefined })] };
    expect(() => validateStep(input, limits, (id) => (id === 'b' ? { numComputedTokens: 5 } : undefined))).not.toThrow();
  });

  it.each<[string, StepInput, RegExp, string]>([
    ['block id past the pool', { sequences: [seq({ blockIds: [8] })] }, /sequence "a": block_ids\[0\] = 8 is outside the pool/, 'block_ids[0]'],
    ['the null block', { sequences: [seq({ blockIds: [0] })] }, /block_ids\[0\] = 0 .*null block/, 'block_ids[0]'],
    ['too few blocks', { sequences: [seq({ tokenIds: [1, 2, 3, 4, 5] })] }, /block_ids has 1 blocks; its positions need 2/, 'block_ids'],
    ['token id out of vocab', { sequences: [seq({ tokenIds: [1, 50] })] }, /token_ids\[1\] = 50 is not a token id/, 'token_ids[1]'],
    ['empty chunk', { sequences: [seq({ tokenIds: [] })] }, /token_ids is empty/, 'token_ids'],
    ['past the context limit', { sequences: [seq({ startPosition: 62, blockIds: [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3] })] }, /exceeds the model's 64 positions/, 'start_position'],
    ['temperature < 0', { sequences: [seq({ state: { params: params({ temperature: -1 }), promptTokenIds: [], outputTokenIds: [] } })] }, /state.params.temperature = -1/, 'state.params.temperature'],
    ['top_p > 1', { sequences: [seq({ state: { params: params({ topP: 1.5 }), promptTokenIds: [], outputTokenIds: [] } })] }, /state.params.top_p = 1.5 \(expected 0..1\)/, 'state.params.top_p'],
    ['repetition penalty 0', { sequences: [seq({ state: { params: params({ repetitionPenalty: 0 }), promptTokenIds: [], outputTokenIds: [] } })] }, /repetition_penalty = 0 \(expected > 0; 1 disables\)/, 'state.params.repetition_penalty'],
    ['too many logprobs', { sequences: [seq({ state: { params: params({ numTopLogprobs: 21 }), promptTokenIds: [], outputTokenIds: [] } })] }, /num_top_logprobs = 21/, 'state.params.num_top_logprobs'],
    ['logit bias on a missing token', { sequences: [seq({ state: { params: params({ logitBias: new Map([[99, 1]]) }), promptTokenIds: [], outputTokenIds: [] } })] }, /logit_bias\[99\] names no token/, 'state.params.logit_bias[99]'],
    ['prompt token out of vocab', { sequences: [seq({ state: { params: params(), promptTokenIds: [60], outputTokenIds: [] } })] }, /state.prompt_token_ids\[0\] = 60/, 'state.prompt_token_ids[0]'],
    ['duplicate sequence', { sequences: [seq(), seq({ blockIds: [2] })] }, /appears twice/, 'seq_id'],
    ['two sequences writing one slot', { sequences: [seq(), seq({ seqId: 'b', blockIds: [1] })] }, /slot 4, which sequence "a" also writes/, 'block_ids'],
  ])('rejects %s as INVALID_ARGUMENT naming the field', (_name, input, message, field) => {
    const err = errorOf(input);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
    expect(err.field).toBe(field);
  });

  it('rejects more sequences or tokens than configured', () => {
    const four = ['a', 'b', 'c', 'd'].map((id, i) => seq({ seqId: id, tokenIds: [1], blockIds: [i + 1] }));
    expect(errorOf({ sequences: four }).message).toMatch(/4 entries, more than this worker's max_batch_sequences 3/);
    const big = seq({ tokenIds: Array(13).fill(1), blockIds: [1, 2, 3, 4] });
    expect(errorOf({ sequences: [big] }).message).toMatch(/13 tokens, more than this worker's max_batch_tokens 12/);
  });

  it('rejects an unknown sequence without state as FAILED_PRECONDITION naming it', () => {
    const err = errorOf({ sequences: [seq({ seqId: 'ghost', state: undefined })] });
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.seqId).toBe('ghost');
    expect(err.message).toMatch(/sequence "ghost": the worker has no sampling state/);
  });

  it('rejects positions that skip past what the worker computed, and allows recomputation', () => {
    const known = { a: { numComputedTokens: 3 } };
    const skip = errorOf({ sequences: [seq({ state: undefined, tokenIds: [9], startPosition: 4, blockIds: [1, 2] })] }, known);
    expect(skip.message).toMatch(/start_position = 4 skips positions: this worker computed 0..2 \(expected <= 3\)/);
    expect(() =>
      validateStep({ sequences: [seq({ state: undefined, tokenIds: [9], startPosition: 3 })] }, limits, (id) => (known as Record<string, KnownSequence>)[id]),
    ).not.toThrow();
  });

  it('rejects copies outside the pool or onto themselves', () => {
    expect(errorOf({ sequences: [seq()], copies: [{ src: 2, dst: 9 }] }).message).toMatch(/copies\[0\].dst_block_id = 9 is outside the pool/);
    expect(errorOf({ sequences: [seq()], copies: [{ src: 2, dst: 2 }] }).message).toMatch(/copies\[0\] copies block 2 onto itself/);
  });
});
