/*
 * Internals traces through the embedded orchestrator, over HTTP and gRPC (Complete):
 * - values against independent expectations: attention rows vs the float64 forward's naive causal
 *   softmax, merges replayed to the prompt's ids, gate weights vs the gating function, block
 *   tables and pool maps equal to what the kv-manager held right after each allocation (read back
 *   from the allocator by a spy on the kv port), a prefix-cache hit and shared blocks;
 * - the trace rides beside `choices` (unary) and only on the final chunk (stream);
 * - refusals naming the field: tracing off, unknown parts, a layer outside the model, n > 1, too large;
 * - /internals is served with --allow-trace and 404 without.
 */
import { KvPools } from '@llm/kv';
import { loadModelDir, type LoadedModel } from '@llm/model';
import { createInProcessClient, type Client } from '@llm/platform';
import { inference, kv, trace } from '@llm/proto';
import { createOrchestrator, type Orchestrator } from '../src';
import { kvImplementation, modelDir, startTestWorker, testConfig, type TestWorker } from './support/platform';
import { expectAttentionRows, expectRouting, expectTokenizerTrace, plainReference, type TraceJson } from './support/trace';

interface Spied {
  orch: Orchestrator;
  model: LoadedModel;
  pools: KvPools;
  worker: TestWorker;
  /** After each AllocateSlots: every answered sequence's table and the pool map, read from the allocator. */
  allocations: Array<{ tables: Map<string, number[]>; pool: Array<[string, number]> }>;
  base: string;
}

async function start(dir: string, config: Record<string, unknown> = {}, numBlocks = 64): Promise<Spied> {
  const model = await loadModelDir(dir);
  const pools = new KvPools();
  const worker = await startTestWorker(model, pools, 'worker-0', numBlocks, 4);
  const inner = createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools));
  const allocations: Spied['allocations'] = [];
  const spy = {
    ...inner,
    async allocateSlots(req: kv.AllocateSlotsRequest) {
      const res = await inner.allocateSlots(req);
      const ok = res.sequences.filter((s) => s.status === kv.AllocationStatus.ALLOCATION_STATUS_OK);
      const tables = new Map(ok.map((s) => [s.seqId, pools.getBlockTable('worker-0', s.seqId).blockTable]));
      allocations.push({ tables, pool: pools.poolMap('worker-0').map((r) => [r.state, r.numBlocks]) });
      return res;
    },
  } as Client<kv.KvManagerDefinition>;
  const orch = await createOrchestrator(testConfig({ model: dir, httpPort: 0, maxNumSeqs: 8, maxNumBatchedTokens: 64, allowTrace: true, ...config }), { kv: spy, worker: worker.client });
  return { orch, model, pools, worker, allocations, base: `http://${orch.http}` };
}

async function post(base: string, path: string, body: unknown): Promise<{ status: number; json: TraceJson; text: string }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: TraceJson;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

const ALL = { tokenizer: true, attention: true, moe: true, kv: true, scheduler: true, sampling: { top: 4 } };

describe('internals trace, dense model', () => {
  let p: Spied;
  beforeAll(async () => {
    p = await start(modelDir(0));
  });
  afterAll(async () => {
    await p.orch.close();
    await p.worker.runner.dispose();
  });

  it('unary: every part, each value against its independent expectation', async () => {
    const prompt = 'The tokens, the model: predicts!';
    p.allocations.length = 0;
    const r = await post(p.base, '/v1/completions', { prompt, max_tokens: 5, temperature: 0.9, seed: 3, ignore_eos: true, trace: ALL });
    expect(r.status).toBe(200);
    const t = r.json.trace;
    const ids = p.orch.facts.tokenizer.encode(prompt);
    expect(t.prompt_token_ids).toEqual(ids);
    expect(t.tokenizer.pieces.some((x: TraceJson) => x.merges.length > 0)).toBe(true); // the tokenizer has merges
    expectTokenizerTrace(t, p.orch.facts.tokenizer, prompt, ids);
    const c = p.model.config;
    const tokens = [...ids, ...t.output_token_ids];
    const positions = tokens.length - 1; // the last sampled token is never computed
    expect(expectAttentionRows(t, plainReference(p.model, tokens), c.numHeads, c.numKvHeads)).toBe(positions * c.numLayers * c.numHeads);
    expect(t.moe).toBeUndefined(); // a dense model routes nothing
    // KV: one step per allocation that carried the sequence, tables and pool maps as the allocator held them
    const seqId = [...p.allocations[0].tables.keys()][0];
    const held = p.allocations.filter((a) => a.tables.has(seqId));
    expect(t.kv.steps.map((s: TraceJson) => s.block_table)).toEqual(held.map((a) => a.tables.get(seqId)));
    expect(t.kv.steps.map((s: TraceJson) => s.pool)).toEqual(held.map((a) => a.pool));
    expect(t.kv.steps[0].prefix_hit_blocks).toBe(0);
    expect(t.kv.block_size).toBe(4);
    // scheduler: the same steps, this request's chunks adding up to every computed position
    expect(t.scheduler.steps.map((s: TraceJson) => s.step)).toEqual(t.kv.steps.map((s: TraceJson) => s.step));
    const mine = t.scheduler.steps.flatMap((s: TraceJson) => s.batch.filter((b: TraceJson) => b.traced));
    expect(mine.reduce((n: number, b: TraceJson) => n + b.tokens, 0)).toBe(positions);
    expect(mine.filter((b: TraceJson) => b.kind === 'decode')).toHaveLength(4);
    for (const s of t.scheduler.steps) expect(s.step_ms).toBeGreaterThanOrEqual(s.worker_ms - 1);
    // sampling: one draw per output token, the drawn token among the candidates, probabilities descending
    expect(t.sampling.map((s: TraceJson) => s.token_id)).toEqual(t.output_token_ids);
    for (const s of t.sampling) {
      expect(s.candidates.length).toBe(4);
      expect(s.candidates.map((x: TraceJson) => x.prob)).toEqual([...s.candidates.map((x: TraceJson) => x.prob)].sort((a, b) => b - a));
      expect(s.masked).toBe(false);
    }
  });

  it('a prefix-cache hit: skipped positions, hit blocks and blocks shared with the request still running', async () => {
    const promptTokenIds = Array.from({ length: 14 }, (_, i) => (i * 29 + 7) % 380);
    const sampling = { temperature: 0, ignoreEos: true };
    // A runs; once it has sampled, its full prompt blocks are committed and B, the same prompt, hits them while A still holds them.
    let traced: Promise<inference.CompleteResponse> | undefined;
    for await (const d of p.orch.inference.generate(inference.GenerateRequest.fromPartial({ promptTokenIds, sampling: { ...sampling, maxTokens: 30 } }))) {
      traced ??= p.orch.inference.complete(inference.CompleteRequest.fromPartial({ promptTokenIds, sampling: { ...sampling, maxTokens: 2 }, trace: { attention: { layers: [1], heads: [0] }, kv: true } }));
      void d;
    }
    const t = (await traced)?.trace as NonNullable<inference.CompleteResponse['trace']>;
    expect(t.attentionSkippedPositions).toBe(12); // 3 full blocks of 4 (the block with the last prompt token is recomputed)
    expect(Math.min(...t.attention.map((x) => x.queryPosition))).toBe(12);
    const first = t.kv?.steps[0] as NonNullable<typeof t.kv>['steps'][0];
    expect(first.numPrefixHitBlocks).toBe(3);
    expect(first.numComputedTokens).toBe(12);
    expect(first.sharedBlockIds).toEqual(first.blockIds.slice(0, 3));
    expect(first.pool.find((r) => r.state === trace.BlockState.BLOCK_STATE_SHARED)?.numBlocks).toBe(3);
  });

  it('stream: the trace is on the final chunk only', async () => {
    const res = await fetch(`${p.base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'stream me', max_tokens: 3, temperature: 0, ignore_eos: true, stream: true, trace: { sampling: true } }) });
    const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: ') && !e.includes('[DONE]')).map((e) => JSON.parse(e.slice(6)));
    const withTrace = events.map((e, i) => [i, e.trace !== undefined]).filter(([, has]) => has);
    expect(withTrace).toEqual([[events.length - 1, true]]);
    expect(events[events.length - 1].trace.sampling).toHaveLength(3);
  });

  it('gRPC Complete and Chat carry the trace too', async () => {
    const res = await p.orch.inference.complete(inference.CompleteRequest.fromPartial({ prompt: 'grpc trace', sampling: { temperature: 0, maxTokens: 2, ignoreEos: true }, trace: { attention: { layers: [0], heads: [] }, scheduler: true } }));
    expect(res.trace?.attention.length).toBe(((res.trace?.promptTokenIds.length ?? 0) + 1) * p.model.config.numHeads); // prompt + 1 decoded position, layer 0
    expect(res.trace?.scheduler?.steps.length).toBe(2);
    let last: inference.ChatResponse | undefined;
    for await (const d of p.orch.inference.chat(inference.ChatRequest.fromPartial({ messages: [{ role: 'user', content: 'hi' }], sampling: { temperature: 0, maxTokens: 2, ignoreEos: true }, trace: { tokenizer: true } }))) last = d;
    const pieces = last?.trace?.tokenizer?.pieces ?? [];
    expect(pieces.flatMap((x) => x.tokenIds)).toEqual(last?.trace?.promptTokenIds);
  });

  it('refuses with a 400 naming the field', async () => {
    const bad = async (trace: unknown, extra: Record<string, unknown> = {}) => (await post(p.base, '/v1/completions', { prompt: 'x', max_tokens: 2, trace, ...extra })).json.error;
    expect(await bad({ atention: true })).toMatchObject({ param: 'trace', message: expect.stringMatching(/unknown parts atention/) });
    expect(await bad({ attention: { layers: [7] } })).toMatchObject({ param: 'trace.attention.layers', message: expect.stringMatching(/layers are 0..1/) });
    expect(await bad({ attention: { heads: [-1] } })).toMatchObject({ param: 'trace.attention.heads[0]' });
    expect(await bad({ sampling: { top: 50 } })).toMatchObject({ param: 'trace.sampling.top' });
    expect(await bad({ kv: true }, { n: 2 })).toMatchObject({ param: 'trace', message: expect.stringMatching(/n = 1/) });
    expect(await bad({ kv: true }, { prompt: ['a', 'b'] })).toMatchObject({ param: 'trace', message: expect.stringMatching(/one prompt/) });
  });

  it('serves the page and its assets', async () => {
    const page = await fetch(`${p.base}/internals`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="/internals/app.js">');
    expect((await fetch(`${p.base}/internals/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${p.base}/internals/nope.js`)).status).toBe(404);
    expect(Array.isArray(await (await fetch(`${p.base}/internals/seeds`)).json())).toBe(true);
  });
});

describe('internals trace, limits and policy', () => {
  it('off: 400 naming trace, /internals 404; too large: 400 with the limit', async () => {
    const off = await start(modelDir(0), { allowTrace: false });
    const small = await start(modelDir(0), { maxTraceBytes: 64 * 1024 });
    try {
      const r = await post(off.base, '/v1/completions', { prompt: 'x', trace: { kv: true } });
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ param: 'trace', message: expect.stringMatching(/--allow-trace/) });
      expect((await fetch(`${off.base}/internals`)).status).toBe(404);
      const big = await post(small.base, '/v1/completions', { prompt: 'x '.repeat(60), max_tokens: 60, trace: { attention: true } });
      expect(big.status).toBe(400);
      expect(big.json.error).toMatchObject({ param: 'trace', message: expect.stringMatching(/more than this server's limit of 0.1 MiB \(--max-trace-bytes\)/) });
      const fits = await post(small.base, '/v1/completions', { prompt: 'x', max_tokens: 2, trace: { attention: { layers: [0], heads: [0] } } });
      expect(fits.status).toBe(200);
      expect(fits.text.length).toBeLessThan(64 * 1024);
    } finally {
      for (const s of [off, small]) {
        await s.orch.close();
        await s.worker.runner.dispose();
      }
    }
  });
});

describe('internals trace under preemption', () => {
  it('the preempted traced request recomputes: every row once, still equal to the reference; preemptions counted', async () => {
    const p = await start(modelDir(0), { maxNumSeqs: 8, maxNumBatchedTokens: 32 }, 13);
    try {
      const req = (i: number, trace?: inference.CompleteRequest['trace']) =>
        p.orch.inference.complete(inference.CompleteRequest.fromPartial({ promptTokenIds: Array.from({ length: 8 }, (_, k) => (i * 37 + k * 11 + 3) % 380), sampling: { temperature: 0, maxTokens: 16, ignoreEos: true }, trace }));
      const all = await Promise.all([req(0), req(1), req(2), req(3, { attention: { layers: [], heads: [] }, scheduler: true, kv: true })]);
      const t = all[3].trace as NonNullable<inference.CompleteResponse['trace']>;
      expect(t.scheduler?.numPreemptions).toBeGreaterThan(0);
      expect(t.kv?.steps.filter((s) => s.numPrefixHitBlocks > 0 || s.numComputedTokens === 0).length).toBeGreaterThan(1); // a second incarnation started
      const c = p.model.config;
      const tokens = [...t.promptTokenIds, ...t.outputTokenIds];
      const rows = t.attention.map((r) => ({ layer: r.layer, head: r.head, kv_head: r.kvHead, query_position: r.queryPosition, weights: Array.from(new Float32Array(Uint8Array.from(r.weightsF32).buffer)) }));
      expect(new Set(rows.map((r) => `${r.layer}/${r.head}/${r.query_position}`)).size).toBe((tokens.length - 1) * c.numLayers * c.numHeads);
      expectAttentionRows({ attention: rows }, plainReference(p.model, tokens), c.numHeads, c.numKvHeads);
    } finally {
      await p.orch.close();
      await p.worker.runner.dispose();
    }
  });
});

describe('internals trace, MoE model', () => {
  it('gate probabilities, experts and weights equal the gating function and the float64 reference', async () => {
    const p = await start(modelDir(1, 'mixtral', { initializer_range: 0.1 }));
    try {
      const r = await post(p.base, '/v1/completions', { prompt: 'route these tokens', max_tokens: 3, temperature: 0, ignore_eos: true, trace: { moe: true } });
      const t = r.json.trace;
      const tokens = [...t.prompt_token_ids, ...t.output_token_ids];
      expect(t.moe).toHaveLength((tokens.length - 1) * p.model.config.numLayers);
      expectRouting(t, plainReference(p.model, tokens), p.model.config.numExpertsPerTok);
      expect(new Set(t.moe.flatMap((m: TraceJson) => m.replicas))).toEqual(new Set(['local']));
    } finally {
      await p.orch.close();
      await p.worker.runner.dispose();
    }
  });
});
