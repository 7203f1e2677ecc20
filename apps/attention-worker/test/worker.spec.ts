/*
 * The attention worker end to end, through its Worker service, over a real gRPC server on
 * 127.0.0.1 and through the in-process transport (the same tests for both):
 * - step-by-step greedy generation (random block placement, chunked prefill in 3 uneven chunks)
 *   gives the tokens of the reference Transformer (`llm generate`) for llama, qwen2, mixtral and
 *   gpt2 model directories, asserting the reference's top-2 margin;
 * - a batch of 32 sequences gives each one the tokens it gets alone;
 * - bad input answers INVALID_ARGUMENT / FAILED_PRECONDITION naming sequence and field, and
 *   leaves the pool and the other sequences unaffected.
 */
import { ClientError, Status } from 'nice-grpc';
import type { worker } from '@llm/proto';
import { metricsRegistry } from '@llm/platform';
import { createRng } from '@llm/tensor';
import { loadModelDir, Transformer, type Arch } from '@llm/model';
import { bootWorker, referenceGreedy, workerConfig, writeModelDir, type BootedWorker, type Transport } from './harness';
import { GREEDY, TestScheduler, unevenChunks } from './test-scheduler';

const ARCHS: Arch[] = ['llama', 'qwen2', 'mixtral', 'gpt2'];
const MARGIN = 1e-4; // TS paged path vs reference forward agree to ~1e-6 on these models
const MAX_TOKENS = 6;

function prompt(seed: number, n: number): number[] {
  const r = createRng(seed);
  return Array.from({ length: n }, () => r.int(500));
}

async function statusOf(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClientError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

const dirs = new Map<Arch, string>(ARCHS.map((a, i) => [a, writeModelDir(a, 100 + i)]));

describe.each<Transport>(['grpc', 'in-process'])('attention worker over %s', (transport) => {
  describe.each(ARCHS)('%s', (arch) => {
    let w: BootedWorker;
    beforeAll(async () => {
      w = await bootWorker(workerConfig(dirs.get(arch) as string), transport);
    });
    afterAll(() => w.close());

    it('reports the model and a pool sized from the budget', async () => {
      const info = await w.client.getModelInfo({});
      const model = await loadModelDir(dirs.get(arch) as string);
      const c = model.config;
      expect(info).toMatchObject({ workerId: 'worker-test', architecture: c.architecture, vocabSize: c.vocabSize, blockSizeTokens: 4, backend: 'ts' });
      // numBlocks = floor(budget / (2 * L * blockSize * NKV * HS * 4))
      expect(info.numBlocks).toBe(Math.floor(1024 ** 3 / 1024 / (2 * c.numLayers * 4 * c.numKvHeads * c.headDim * 4)));
    });

    it('generates the reference greedy tokens through chunked prefill over random blocks', async () => {
      const model = await loadModelDir(dirs.get(arch) as string);
      const ref = new Transformer(model.config, model.weights);
      const info = await w.client.getModelInfo({});
      const sched = new TestScheduler(w.client, info.blockSizeTokens, info.numBlocks, createRng(3).next);
      const p = prompt(arch.length, 11);
      const want = await referenceGreedy(ref, p, MAX_TOKENS);
      expect(want.minMargin).toBeGreaterThan(MARGIN);
      const got = await sched.generate([{ id: `${arch}-1`, prompt: p, chunks: unevenChunks(p.length), maxTokens: MAX_TOKENS }]);
      expect(got.get(`${arch}-1`)?.tokens).toEqual(want.tokens);
    });
  });

  describe('batching and bad input (llama)', () => {
    let w: BootedWorker;
    beforeAll(async () => {
      w = await bootWorker(workerConfig(dirs.get('llama') as string), transport);
    });
    afterAll(() => w.close());

    it('a batch of 32 gives each sequence the tokens it gets alone', async () => {
      const info = await w.client.getModelInfo({});
      const seqs = Array.from({ length: 32 }, (_, i) => {
        const p = prompt(1000 + i, 3 + (i % 9));
        return { id: `b${i}`, prompt: p, chunks: unevenChunks(p.length), maxTokens: 4 };
      });
      const together = await new TestScheduler(w.client, 4, info.numBlocks, createRng(9).next).generate(seqs);
      for (const s of seqs) {
        const alone = await new TestScheduler(w.client, 4, info.numBlocks, createRng(10).next).generate([{ ...s, id: `${s.id}-alone` }]);
        expect(together.get(s.id)?.tokens).toEqual(alone.get(`${s.id}-alone`)?.tokens);
      }
    });

    it('counts steps, tokens, rejections and the split of step time in its Prometheus metrics', async () => {
      const value = async (name: string, labels: Record<string, string>, metricName = name) => {
        const m = ((await metricsRegistry().getSingleMetric(name)?.get())?.values ?? []) as { labels: Record<string, unknown>; value: number; metricName?: string }[];
        return m.filter((v) => (v.metricName ?? name) === metricName && Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
      };
      const count = (name: string) => value(name, { worker: 'worker-test' }, `${name}_count`);
      const sum = (name: string) => value(name, { worker: 'worker-test' }, `${name}_sum`);
      const before = {
        ok: await value('llm_worker_steps_total', { outcome: 'ok' }), bad: await value('llm_worker_steps_total', { outcome: 'FAILED_PRECONDITION' }), tokens: await value('llm_worker_step_tokens_total', {}),
        step: await count('llm_worker_step_seconds'), forward: await count('llm_worker_forward_seconds'), overhead: await count('llm_worker_step_overhead_seconds'),
        stepSum: await sum('llm_worker_step_seconds'), forwardSum: await sum('llm_worker_forward_seconds'), overheadSum: await sum('llm_worker_step_overhead_seconds'),
      };
      const p = prompt(6, 5);
      await w.client.step({ sequences: [{ seqId: 'mt', tokenIds: p, startPosition: 0, blockIds: [1, 2], sample: true, appendedOutputTokenIds: [], state: { params: GREEDY, promptTokenIds: p, outputTokenIds: [] } }], releaseSeqIds: ['mt'] });
      await statusOf(w.client.step({ sequences: [{ seqId: 'unknown', tokenIds: [1], startPosition: 0, blockIds: [1], sample: true, appendedOutputTokenIds: [] }] }));
      expect(await value('llm_worker_steps_total', { outcome: 'ok' })).toBe(before.ok + 1);
      expect(await value('llm_worker_steps_total', { outcome: 'FAILED_PRECONDITION' })).toBe(before.bad + 1);
      expect(await value('llm_worker_step_tokens_total', {})).toBe(before.tokens + 5);
      // One answered step: one observation each; its kernel time and the rest add up to the whole step.
      expect(await count('llm_worker_step_seconds')).toBe(before.step + 1);
      expect(await count('llm_worker_forward_seconds')).toBe(before.forward + 1);
      expect(await count('llm_worker_step_overhead_seconds')).toBe(before.overhead + 1);
      const step = (await sum('llm_worker_step_seconds')) - before.stepSum;
      const parts = (await sum('llm_worker_forward_seconds')) - before.forwardSum + ((await sum('llm_worker_step_overhead_seconds')) - before.overheadSum);
      expect(parts).toBeCloseTo(step, 9);
      expect(await value('llm_worker_kv_pool_blocks', { worker: 'worker-test' })).toBe((await w.client.getModelInfo({})).numBlocks);
    });

    it('returns the chosen logprob and the requested top logprobs, most likely first', async () => {
      const p = prompt(5, 6);
      const state = { params: { ...GREEDY, numTopLogprobs: 3 }, promptTokenIds: p, outputTokenIds: [] };
      const res = await w.client.step({ sequences: [{ seqId: 'lp', tokenIds: p, startPosition: 0, blockIds: [1, 2], sample: true, appendedOutputTokenIds: [], state }], releaseSeqIds: ['lp'] });
      const out = res.outputs[0];
      expect(out.topLogprobs).toHaveLength(3);
      expect(out.topLogprobs[0]).toEqual({ tokenId: out.tokenId, logprob: out.logprob }); // greedy picks the most likely
      expect(out.topLogprobs[0].logprob).toBeGreaterThanOrEqual(out.topLogprobs[1].logprob);
      expect(out.topLogprobs[1].logprob).toBeGreaterThanOrEqual(out.topLogprobs[2].logprob);
      expect(out.logprob).toBeLessThan(0);
      expect(res.numTokens).toBe(6);
    });

    it('rejects bad input naming sequence and field, leaving the pool and other sequences unaffected', async () => {
      const info = await w.client.getModelInfo({});
      const p = prompt(77, 7);
      const alone = await new TestScheduler(w.client, 4, info.numBlocks, createRng(1).next).generate([{ id: 'ref', prompt: p, chunks: [7], maxTokens: 3 }]);
      // "good" prefills into blocks 1, 2; each bad step below is rejected whole
      const good = { seqId: 'good', tokenIds: p, startPosition: 0, blockIds: [1, 2], sample: true, appendedOutputTokenIds: [], state: { params: GREEDY, promptTokenIds: p, outputTokenIds: [] } };
      const first = await w.client.step({ sequences: [good] });
      const decode = (tok: number, pos: number) => ({ seqId: 'good', tokenIds: [tok], startPosition: pos, blockIds: [1, 2, 5], sample: true, appendedOutputTokenIds: [] });
      const bad: Array<[Partial<worker.StepSequence>, Status, RegExp]> = [
        [{ seqId: 'evil', tokenIds: [1, 2], startPosition: 0, blockIds: [info.numBlocks], sample: true, state: good.state }, Status.INVALID_ARGUMENT, /sequence "evil": block_ids\[0\] = \d+ is outside the pool/],
        [{ seqId: 'evil', tokenIds: [1], startPosition: 0, blockIds: [3], sample: true, state: { ...good.state, params: { ...GREEDY, topP: 2 } } }, Status.INVALID_ARGUMENT, /sequence "evil": state.params.top_p = 2/],
        [{ seqId: 'stranger', tokenIds: [1], startPosition: 0, blockIds: [3], sample: true }, Status.FAILED_PRECONDITION, /sequence "stranger": the worker has no sampling state/],
        [{ seqId: 'good2', tokenIds: [1], startPosition: 3, blockIds: [2], sample: false, state: good.state }, Status.INVALID_ARGUMENT, /slot 11, which sequence "good" also writes/],
      ];
      for (const [seq, code, message] of bad) {
        const err = await statusOf(w.client.step({ sequences: [decode(first.outputs[0].tokenId, 7), seq] }));
        expect(err.code).toBe(code);
        expect(err.details).toMatch(message);
      }
      const skip = await statusOf(w.client.step({ sequences: [decode(first.outputs[0].tokenId, 9)] }));
      expect(skip.details).toMatch(/sequence "good": start_position = 9 skips positions/);
      const tooMany = await statusOf(w.client.step({ sequences: Array.from({ length: 65 }, (_, i) => ({ ...good, seqId: `m${i}`, blockIds: [3 + i] })) }));
      expect(tooMany.details).toMatch(/65 entries, more than this worker's max_batch_sequences 64/);
      // the pool and "good" were untouched: it continues exactly as the sequence run alone
      const second = await w.client.step({ sequences: [decode(first.outputs[0].tokenId, 7)] });
      const third = await w.client.step({ sequences: [decode(second.outputs[0].tokenId, 8)], releaseSeqIds: ['good'] });
      expect([first, second, third].map((r) => r.outputs[0].tokenId)).toEqual(alone.get('ref')?.tokens);
    });
  });
});
