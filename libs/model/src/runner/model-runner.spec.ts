/*
 * ModelRunner: validation leaves the pool and the cached states untouched; copy-on-write copies
 * land before the step's new K/V; cached sampling state is required for unknown sequences,
 * resent state replaces it, release drops it; greedy generation through chunked prefill over
 * random blocks reproduces the reference forward's tokens; a batch gives each sequence its solo tokens.
 */
import { createRng } from '@llm/tensor';
import { initRandomModel } from '../init-random';
import { generate, type SamplingParams } from '../sampling';
import { ReferenceMoeExecutor } from '../transformer/moe';
import { Transformer } from '../transformer/transformer';
import type { Arch } from '../config';
import { RunnerError } from './errors';
import { createKvPool } from './kv-pool';
import { ModelRunner } from './model-runner';
import type { StepSamplingParams, StepSequenceInput } from './step-types';
import { TsBackend } from './ts-backend';
import { tsDecoderFromModel } from './ts-decoder';

export const GREEDY: StepSamplingParams = {
  temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
  logitBias: new Map(), seed: 0n, sampleIndex: 0, numTopLogprobs: 0,
};

const models = new Map<string, ReturnType<typeof initRandomModel>>();

/** A runner over the (arch, seed) random model (weights built once) with a fresh pool and state cache. */
function runnerFor(arch: Arch, seed = 1, numBlocks = 32, blockSize = 4) {
  const key = `${arch}/${seed}`;
  if (!models.has(key)) models.set(key, initRandomModel(arch, {}, seed));
  const { config, weights } = models.get(key) as ReturnType<typeof initRandomModel>;
  const pool = createKvPool({ numBlocks, blockSize, numLayers: config.numLayers, numKvHeads: config.numKvHeads, headDim: config.headDim });
  const moe = config.numExperts > 0 ? new ReferenceMoeExecutor(config, weights) : undefined;
  const backend = new TsBackend(tsDecoderFromModel(config, weights), moe);
  const runner = new ModelRunner({ backend, pool, vocabSize: config.vocabSize, maxPositions: config.maxPositions, maxBatchSequences: 8, maxBatchTokens: 64 });
  return { config, weights, runner, pool };
}

const withState = (s: Omit<StepSequenceInput, 'state'>, prompt: number[] = Array.from(s.tokenIds)): StepSequenceInput => ({
  ...s, state: { params: GREEDY, promptTokenIds: prompt, outputTokenIds: [] },
});

const snapshot = (pool: { k: Float32Array[]; v: Float32Array[] }) => [...pool.k, ...pool.v].map((a) => Float32Array.from(a));

async function rejection(p: Promise<unknown>): Promise<RunnerError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RunnerError) return e;
    throw e;
  }
  throw new Error('expected the step to be rejected');
}

describe('ModelRunner: validation, copies and state', () => {
  it('a rejected step leaves the pool bit-identical and the other sequences usable', async () => {
    const { runner, pool } = runnerFor('llama');
    await runner.step({ sequences: [withState({ seqId: 'a', tokenIds: [3, 4, 5, 6, 7], startPosition: 0, blockIds: [5, 9], sample: false })] });
    const before = snapshot(pool);
    const err = await rejection(
      runner.step({
        sequences: [
          { seqId: 'a', tokenIds: [8], startPosition: 5, blockIds: [5, 9], sample: false },
          withState({ seqId: 'b', tokenIds: [1, 2], startPosition: 0, blockIds: [40], sample: false }),
        ],
        copies: [{ src: 5, dst: 6 }],
      }),
    );
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/sequence "b": block_ids\[0\] = 40 is outside the pool \(expected 1..31/);
    snapshot(pool).forEach((a, i) => expect(a).toEqual(before[i]));
    expect(runner.numCachedSequences).toBe(1); // b's state was not cached
    await expect(runner.step({ sequences: [{ seqId: 'a', tokenIds: [8], startPosition: 5, blockIds: [5, 9], sample: false }] })).resolves.toBeDefined();
  });

  it('applies copy-on-write copies before writing the step K/V', async () => {
    const { runner, pool, config } = runnerFor('llama');
    const row = config.numKvHeads * config.headDim;
    const B = pool.blockSize;
    // a: positions 0..5 in blocks [1, 2]; b forks a after 6 tokens, gets its own copy 3 of block 2
    await runner.step({ sequences: [withState({ seqId: 'a', tokenIds: [3, 4, 5, 6, 7, 8], startPosition: 0, blockIds: [1, 2], sample: false })] });
    const block2 = pool.k.map((k) => Float32Array.from(k.subarray(2 * B * row, 3 * B * row)));
    await runner.step({
      sequences: [withState({ seqId: 'b', tokenIds: [9], startPosition: 6, blockIds: [1, 3], sample: false }, [3, 4, 5, 6, 7, 8, 9])],
      copies: [{ src: 2, dst: 3 }],
    });
    for (let l = 0; l < config.numLayers; l++) {
      const k = pool.k[l];
      // slots of positions 4, 5 came from block 2; position 6 is b's new key, not block 2's (empty) slot 2
      expect(k.subarray(3 * B * row, (3 * B + 2) * row)).toEqual(block2[l].subarray(0, 2 * row));
      expect(k.subarray((3 * B + 2) * row, (3 * B + 3) * row).some((x) => x !== 0)).toBe(true);
      expect(k.subarray((2 * B + 2) * row, (2 * B + 3) * row).every((x) => x === 0)).toBe(true); // a's block untouched
    }
  });

  it('needs the full state for an unknown sequence, and forgets released ones', async () => {
    const { runner } = runnerFor('llama');
    const err = await rejection(runner.step({ sequences: [{ seqId: 'x', tokenIds: [1], startPosition: 0, blockIds: [1], sample: false }] }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.seqId).toBe('x');
    await runner.step({ sequences: [withState({ seqId: 'x', tokenIds: [1], startPosition: 0, blockIds: [1], sample: false })] });
    await runner.step({ sequences: [{ seqId: 'x', tokenIds: [2], startPosition: 1, blockIds: [1], sample: false }], releaseSeqIds: ['x'] });
    expect(runner.numCachedSequences).toBe(0);
    const again = await rejection(runner.step({ sequences: [{ seqId: 'x', tokenIds: [3], startPosition: 2, blockIds: [1], sample: false }] }));
    expect(again.code).toBe('FAILED_PRECONDITION');
  });

  it('runs a release-only step without a forward pass', async () => {
    const { runner, pool } = runnerFor('llama');
    await runner.step({ sequences: [withState({ seqId: 'a', tokenIds: [1, 2], startPosition: 0, blockIds: [1], sample: true })] });
    const before = snapshot(pool);
    const out = await runner.step({ sequences: [], releaseSeqIds: ['a'] });
    expect(out).toMatchObject({ outputs: [], numTokens: 0, forwardNs: 0n });
    expect(runner.numCachedSequences).toBe(0);
    snapshot(pool).forEach((a, i) => expect(a).toEqual(before[i]));
  });

  it('serialises concurrent steps: a step sent before the previous one finished sees its effects', async () => {
    const { runner } = runnerFor('llama');
    const first = runner.step({ sequences: [withState({ seqId: 'a', tokenIds: [1, 2, 3], startPosition: 0, blockIds: [1], sample: true })] });
    const second = runner.step({ sequences: [{ seqId: 'a', tokenIds: [4], startPosition: 3, blockIds: [1], sample: true }] });
    const [r1, r2] = await Promise.all([first, second]);
    const solo = runnerFor('llama').runner;
    const s1 = await solo.step({ sequences: [withState({ seqId: 'a', tokenIds: [1, 2, 3], startPosition: 0, blockIds: [1], sample: true })] });
    const s2 = await solo.step({ sequences: [{ seqId: 'a', tokenIds: [4], startPosition: 3, blockIds: [1], sample: true }] });
    expect([r1.outputs[0].tokenId, r2.outputs[0].tokenId]).toEqual([s1.outputs[0].tokenId, s2.outputs[0].tokenId]);
  });

  it('rejects positions that skip what the worker computed', async () => {
    const { runner } = runnerFor('llama');
    await runner.step({ sequences: [withState({ seqId: 'a', tokenIds: [1, 2], startPosition: 0, blockIds: [1], sample: false })] });
    const err = await rejection(runner.step({ sequences: [{ seqId: 'a', tokenIds: [3], startPosition: 3, blockIds: [1], sample: false }] }));
    expect(err.message).toMatch(/sequence "a": start_position = 3 skips positions: this worker computed 0..1/);
  });
});

/** Drives one sequence: prefill in the given chunks over random blocks, then decode; the state is sent once. */
async function drive(
  runner: ModelRunner, seqId: string, prompt: number[], chunks: number[], maxTokens: number, params: StepSamplingParams, seed: number,
  blocksFrom = 1,
): Promise<{ tokens: number[]; logprobs: number[] }> {
  const rand = createRng(seed);
  const free = Array.from({ length: 31 - blocksFrom + 1 }, (_, i) => blocksFrom + i);
  const blocks: number[] = [];
  const tokens: number[] = [];
  const logprobs: number[] = [];
  let pos = 0;
  let first = true;
  const work: number[][] = [];
  for (let i = 0, at = 0; i < chunks.length; at += chunks[i], i++) work.push(prompt.slice(at, at + chunks[i]));
  while (tokens.length < maxTokens) {
    const ids = work.shift() ?? [tokens[tokens.length - 1]];
    while (blocks.length * runner.pool.blockSize < pos + ids.length) blocks.push(free.splice(rand.int(free.length), 1)[0]);
    const sample = work.length === 0;
    const out = await runner.step({
      sequences: [{
        seqId, tokenIds: ids, startPosition: pos, blockIds: [...blocks], sample,
        state: first ? { params, promptTokenIds: prompt, outputTokenIds: [] } : undefined,
      }],
    });
    first = false;
    pos += ids.length;
    if (sample) {
      tokens.push(out.outputs[0].tokenId);
      logprobs.push(out.outputs[0].logprob);
    }
  }
  return { tokens, logprobs };
}

const toLib = (p: StepSamplingParams): SamplingParams => ({
  temperature: p.temperature, topK: p.topK, topP: p.topP, minP: p.minP, repetitionPenalty: p.repetitionPenalty,
  presencePenalty: p.presencePenalty, frequencyPenalty: p.frequencyPenalty, logitBias: new Map(p.logitBias), seed: p.seed,
  logprobs: p.numTopLogprobs,
});

describe.each<Arch>(['llama', 'qwen2', 'mixtral', 'gpt2'])('ModelRunner generation (%s)', (arch) => {
  const prompt = Array.from({ length: 10 }, (_, i) => (i * 89 + 17) % 500);

  it('greedy tokens over 3 uneven chunks and random blocks equal the reference generate (top-2 margin asserted)', async () => {
    const { runner, config, weights } = runnerFor(arch, 21);
    const want = await generate(new Transformer(config, weights), prompt, { maxTokens: 6, sampling: toLib(GREEDY) });
    expect(Math.min(...want.margins)).toBeGreaterThan(1e-4);
    const got = await drive(runner, 's', prompt, [2, 5, 3], 6, GREEDY, 4);
    expect(got.tokens).toEqual(want.tokens);
    got.logprobs.forEach((lp, i) => expect(lp).toBeCloseTo(want.samples[i].logprob, 4));
  });

  it('seeded sampling with penalties draws the reference tokens; a state resent elsewhere draws the same continuation', async () => {
    const params: StepSamplingParams = { ...GREEDY, temperature: 0.8, topP: 0.95, topK: 50, repetitionPenalty: 1.1, frequencyPenalty: 0.2, seed: 1234n, sampleIndex: 2, numTopLogprobs: 3 };
    const { runner, config, weights } = runnerFor(arch, 21);
    const want = await generate(new Transformer(config, weights), prompt, { maxTokens: 6, sampling: toLib(params), sampleIndex: 2 });
    const got = await drive(runner, 's', prompt, [4, 1, 5], 6, params, 8);
    expect(got.tokens).toEqual(want.tokens);
    // moved to another worker after 3 tokens: recompute prompt + 3 outputs there with the full state resent
    const other = runnerFor(arch, 21).runner;
    const context = [...prompt, ...want.tokens.slice(0, 3)];
    const out = await other.step({
      sequences: [{
        seqId: 'moved', tokenIds: context, startPosition: 0, blockIds: [7, 3, 9, 12], sample: true,
        state: { params, promptTokenIds: prompt, outputTokenIds: want.tokens.slice(0, 3) },
      }],
    });
    expect(out.outputs[0].tokenId).toBe(want.tokens[3]);
    expect(out.outputs[0].topLogprobs.map((t) => t.tokenId)).toEqual(want.samples[3].topLogprobs.map((t) => t.token));
  });
});

describe('ModelRunner batching', () => {
  it('a batch of mixed prefill chunks and decodes gives every sequence its solo tokens', async () => {
    const prompts = Array.from({ length: 6 }, (_, s) => Array.from({ length: 2 + s * 2 }, (_, i) => (s * 131 + i * 29 + 1) % 500));
    const solo: number[][] = [];
    for (const p of prompts) solo.push((await drive(runnerFor('llama', 5).runner, 'x', p, [p.length], 4, GREEDY, 1)).tokens);
    const { runner } = runnerFor('llama', 5);
    // sequence s owns blocks 1 + 5s ..; prompts are prefilled in one chunk, staggered by one step each
    const state = prompts.map((p, s) => ({ p, s, pos: 0, out: [] as number[], start: s }));
    for (let step = 0; state.some((x) => x.out.length < 4); step++) {
      const active = state.filter((x) => step >= x.start && x.out.length < 4);
      const seqs: StepSequenceInput[] = active.map((x) => {
        const ids = x.pos === 0 ? x.p : [x.out[x.out.length - 1]];
        return {
          seqId: `b${x.s}`, tokenIds: ids, startPosition: x.pos, sample: true,
          blockIds: [1, 2, 3, 4, 5].map((b) => b + 5 * x.s),
          state: x.pos === 0 ? { params: GREEDY, promptTokenIds: x.p, outputTokenIds: [] } : undefined,
        };
      });
      const res = await runner.step({ sequences: seqs });
      active.forEach((x, i) => {
        x.pos += seqs[i].tokenIds.length;
        x.out.push(res.outputs[i].tokenId);
      });
    }
    state.forEach((x) => expect(x.out).toEqual(solo[x.s]));
  });
});

describe('ModelRunner: use_previous_token (async scheduling)', () => {
  it('a step sent before the previous one answered computes that step\'s sampled token, as if it were sent explicitly', async () => {
    const prompt = [3, 4, 5, 6, 7];
    const explicit = runnerFor('llama', 2);
    const piped = runnerFor('llama', 2);
    const blockIds = [5, 9, 2];
    const first = withState({ seqId: 's', tokenIds: prompt, startPosition: 0, blockIds, sample: true });
    const a1 = await explicit.runner.step({ sequences: [first] });
    const t1 = a1.outputs[0].tokenId;
    const a2 = await explicit.runner.step({ sequences: [{ seqId: 's', tokenIds: [t1], startPosition: 5, blockIds, sample: true }] });
    // both steps queued at once: the second names no token
    const [b1, b2] = await Promise.all([
      piped.runner.step({ sequences: [first] }),
      piped.runner.step({ sequences: [{ seqId: 's', tokenIds: [], usePreviousToken: true, startPosition: 5, blockIds, sample: true }] }),
    ]);
    expect(b1.outputs[0].tokenId).toBe(t1);
    expect(b2.outputs[0].tokenId).toBe(a2.outputs[0].tokenId);
    expect(b2.outputs[0].logprob).toBe(a2.outputs[0].logprob);
    expect(snapshot(piped.pool)).toEqual(snapshot(explicit.pool)); // the same K/V at position 5
  });

  it('is refused when the worker has no sampled token there, or token_ids are given too', async () => {
    const { runner } = runnerFor('llama', 2);
    const blockIds = [5, 9, 2];
    let err = await rejection(runner.step({ sequences: [{ seqId: 'x', tokenIds: [], usePreviousToken: true, startPosition: 5, blockIds, sample: true }] }));
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'use_previous_token' });
    await runner.step({ sequences: [withState({ seqId: 'x', tokenIds: [3, 4, 5, 6, 7], startPosition: 0, blockIds, sample: true })] });
    err = await rejection(runner.step({ sequences: [{ seqId: 'x', tokenIds: [], usePreviousToken: true, startPosition: 6, blockIds, sample: true }] }));
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'start_position' });
    expect(err.message).toMatch(/start_position 6 is not the sampled token's position 5/);
    err = await rejection(runner.step({ sequences: [{ seqId: 'x', tokenIds: [9], usePreviousToken: true, startPosition: 5, blockIds, sample: true }] }));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'token_ids' });
  });
});
