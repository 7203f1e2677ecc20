/*
 * TsBackend through the paged pool: chunked prefill over randomly placed blocks, and many
 * sequences mixed in one flat batch, give the logits of a single contiguous pass; every
 * architecture's forward equals the library's reference Transformer (see model-runner.spec.ts
 * for whole generations).
 */
import { createRng } from '@llm/tensor';
import { initRandomModel } from '../init-random';
import { ReferenceMoeExecutor } from '../transformer/moe';
import { Transformer } from '../transformer/transformer';
import type { Arch } from '../config';
import { buildFlatBatch } from './flat-batch';
import { createKvPool } from './kv-pool';
import { TsBackend } from './ts-backend';
import { tsDecoderFromModel } from './ts-decoder';
import type { StepSequenceInput } from './step-types';
import type { KvPool } from './types';

const BLOCK = 4;

const models = new Map<string, ReturnType<typeof initRandomModel>>();

/** A backend over the (arch, seed) random model (weights built once) with a fresh, empty pool. */
function backendFor(arch: Arch, seed: number) {
  const key = `${arch}/${seed}`;
  if (!models.has(key)) models.set(key, initRandomModel(arch, {}, seed));
  const { config, weights } = models.get(key) as ReturnType<typeof initRandomModel>;
  const pool = createKvPool({ numBlocks: 64, blockSize: BLOCK, numLayers: config.numLayers, numKvHeads: config.numKvHeads, headDim: config.headDim });
  const moe = config.numExperts > 0 ? new ReferenceMoeExecutor(config, weights) : undefined;
  return { config, weights, pool, backend: new TsBackend(tsDecoderFromModel(config, weights), moe) };
}

/** Random distinct physical blocks (never the null block 0) for a context of n tokens. */
function randomBlocks(n: number, taken: Set<number>, rand: () => number, numBlocks: number): number[] {
  const out: number[] = [];
  while (out.length < Math.ceil(n / BLOCK)) {
    const b = 1 + Math.floor(rand() * (numBlocks - 1));
    if (!taken.has(b)) {
      taken.add(b);
      out.push(b);
    }
  }
  return out;
}

const chunk = (seqId: string, tokens: number[], start: number, blockIds: number[], sample = true): StepSequenceInput => ({
  seqId, tokenIds: tokens, startPosition: start, blockIds, sample,
});

async function run(backend: TsBackend, pool: KvPool, seqs: StepSequenceInput[], allRows = false): Promise<Float32Array> {
  const batch = buildFlatBatch(seqs, BLOCK);
  if (allRows) batch.logitRows = Int32Array.from(batch.tokenIds, (_, i) => i);
  return backend.forward(batch, pool);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.each<Arch>(['llama', 'qwen2', 'mixtral', 'gpt2'])('TsBackend (%s)', (arch) => {
  it('equals the reference Transformer forward on every row of a chunked prompt', async () => {
    const m = backendFor(arch, 3);
    const prompt = Array.from({ length: 9 }, (_, i) => (i * 53 + 11) % 500);
    const want = await new Transformer(m.config, m.weights).forward(prompt); // (T, V)
    const blocks = randomBlocks(prompt.length, new Set(), createRng(5).next, 64);
    const parts: Float32Array[] = [];
    for (const [a, b] of [[0, 4], [4, 5], [5, 9]]) parts.push(await run(m.backend, m.pool, [chunk('s', prompt.slice(a, b), a, blocks)], true));
    const got = new Float32Array(want.length);
    parts.reduce((off, p) => (got.set(p, off), off + p.length), 0);
    expect(maxDiff(got, want)).toBeLessThan(1e-4);
  });

  it('chunked prefill over random blocks gives the logits of one contiguous pass', async () => {
    const rand = createRng(7).next;
    const prompt = Array.from({ length: 11 }, (_, i) => (i * 37 + 5) % 500);
    const whole = backendFor(arch, 1);
    const contiguous = await run(whole.backend, whole.pool, [chunk('s', prompt, 0, [1, 2, 3])], true);
    const paged = backendFor(arch, 1);
    const blocks = randomBlocks(prompt.length, new Set(), rand, 64);
    const rows: Float32Array[] = [];
    for (const [a, b] of [[0, 2], [2, 9], [9, 11]]) {
      rows.push(await run(paged.backend, paged.pool, [chunk('s', prompt.slice(a, b), a, blocks)], true));
    }
    const joined = new Float32Array(contiguous.length);
    let off = 0;
    for (const r of rows) {
      joined.set(r, off);
      off += r.length;
    }
    expect(maxDiff(joined, contiguous)).toBeLessThan(1e-5);
  });

  it('a flat batch mixing prefill chunks and decodes gives each sequence its solo logits', async () => {
    const rand = createRng(11).next;
    const prompts = [5, 1, 8, 2, 7].map((n, s) => Array.from({ length: n }, (_, i) => (s * 101 + i * 13 + 3) % 500));
    // solo: each sequence alone in a fresh pool, cached part first, then its new tokens
    const solo: Float32Array[] = [];
    for (const p of prompts) {
      const m = backendFor(arch, 2);
      const cached = Math.floor(p.length / 2);
      if (cached > 0) await run(m.backend, m.pool, [chunk('x', p.slice(0, cached), 0, [1, 2, 3])]);
      solo.push(await run(m.backend, m.pool, [chunk('x', p.slice(cached), cached, [1, 2, 3])]));
    }
    const m = backendFor(arch, 2);
    const taken = new Set<number>();
    const tables = prompts.map((p) => randomBlocks(p.length, taken, rand, 64));
    const firstHalves = prompts.map((p, s) => chunk(`s${s}`, p.slice(0, Math.floor(p.length / 2)), 0, tables[s])).filter((c) => c.tokenIds.length > 0);
    await run(m.backend, m.pool, firstHalves);
    const seconds = prompts.map((p, s) => chunk(`s${s}`, p.slice(Math.floor(p.length / 2)), Math.floor(p.length / 2), tables[s]));
    const together = await run(m.backend, m.pool, seconds);
    const V = m.config.vocabSize;
    prompts.forEach((_, s) => expect(maxDiff(together.subarray(s * V, (s + 1) * V), solo[s])).toBeLessThan(1e-5));
  });
});
