/*
 * The same OpenAI features through the official SDK in distributed mode: requests travel as
 * BullMQ jobs on Redis (api and scheduler roles of one orchestrator, deltas relayed through Redis
 * streams), the worker is served over gRPC and its sampling state, grammar included, crosses the
 * wire. Covered: json_schema (validated with ajv), a fixed-string grammar, tool calls (required,
 * streamed deltas reassembled by the SDK's helper), embeddings (equal to the reference forward's
 * mean-pooled hidden states), several prompts, echo, best_of, model aliases, tokenize.
 */
import Ajv from 'ajv';
import OpenAI from 'openai';
import { KvPools } from '@llm/kv';
import { loadModelDir, Transformer } from '@llm/model';
import { connectGrpc, createInProcessClient, startGrpcServer, type RunningGrpcServer } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { startRedis, type StartedRedis } from '@llm/testing';
import { createOrchestrator, type Orchestrator } from '../src';
import { kvImplementation, modelDir, startTestWorker, testConfig, workerImplementation, type TestWorker } from './support/platform';

jest.setTimeout(180_000);
const ajv = new Ajv({ strict: false });
let redis: StartedRedis;
let w: TestWorker;
let workerServer: RunningGrpcServer;
let closeWorkerClient: () => void;
let orch: Orchestrator;
let client: OpenAI;
const dir = modelDir(0, 'llama', { max_position_embeddings: 1024 });

beforeAll(async () => {
  redis = await startRedis({ prefer: (process.env.LLM_TEST_REDIS as 'container' | 'process' | undefined) ?? 'process' });
  const model = await loadModelDir(dir);
  const pools = new KvPools();
  w = await startTestWorker(model, pools, 'worker-d', 800, 4);
  workerServer = await startGrpcServer({ port: 0, services: [{ definition: worker.WorkerDefinition, implementation: workerImplementation(w.runner, model, 'worker-d') }] });
  const conn = connectGrpc(worker.WorkerDefinition, workerServer.address);
  closeWorkerClient = conn.close;
  const kvClient = createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools));
  orch = await createOrchestrator(
    testConfig({ model: dir, role: 'all', redisUrl: redis.url, queuePrefix: `oai${process.pid}`, httpPort: 0, maxNumSeqs: 16, maxNumBatchedTokens: 64, servedModelName: ['tiny-llama', 'alias-d'] }),
    { kv: kvClient, worker: conn.client },
  );
  client = new OpenAI({ baseURL: `http://${orch.http}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await orch?.close();
  closeWorkerClient?.();
  await workerServer?.close(100);
  await w?.runner.dispose();
  await redis?.stop();
});

it('structured outputs: json_schema validates, a fixed-string grammar gives exactly the string', async () => {
  const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 6 }, age: { type: 'integer', minimum: 0, maximum: 120 }, tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 2 } }, required: ['name', 'age'], additionalProperties: false };
  const r = await client.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: 'who?' }], n: 3, temperature: 1, seed: 4, response_format: { type: 'json_schema', json_schema: { name: 'p', schema, strict: true } } });
  for (const c of r.choices) expect(ajv.validate(schema, JSON.parse(c.message.content ?? ''))).toBe(true);
  const fixed = await client.completions.create({ model: 'alias-d', prompt: 'x', max_tokens: 40, temperature: 1, guided_choice: ['exactly this, nothing else'] } as never);
  expect((fixed as OpenAI.Completion).choices[0].text).toBe('exactly this, nothing else');
});

it('tool calls: required calls validate, streamed deltas reassemble to the same calls', async () => {
  const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'add', parameters: { type: 'object', properties: { a: { type: 'integer', minimum: 0, maximum: 99 }, b: { type: 'integer', minimum: 0, maximum: 99 } }, required: ['a', 'b'] } } }];
  const body = { model: 'tiny-llama', messages: [{ role: 'user' as const, content: '2+2?' }], tools, tool_choice: 'required' as const, temperature: 1, seed: 9 };
  const whole = await client.chat.completions.create(body);
  const final = await client.chat.completions.stream({ ...body, stream: true }).finalChatCompletion();
  const calls = (c: OpenAI.ChatCompletion) => c.choices[0].message.tool_calls?.map((t) => (t.type === 'function' ? [t.function.name, t.function.arguments] : []));
  expect(calls(final)).toEqual(calls(whole));
  for (const [name, args] of calls(whole) ?? []) {
    expect(name).toBe('add');
    expect(ajv.validate(tools[0].type === 'function' ? (tools[0].function.parameters as object) : {}, JSON.parse(args))).toBe(true);
  }
});

it('embeddings equal the reference mean-pooled hidden states', async () => {
  const m = await loadModelDir(dir);
  const ref = new Transformer(m.config, m.weights);
  const text = 'Embeddings travel through the queue too. '.repeat(3);
  const ids = orch.facts.tokenizer.encode(text);
  const h = await ref.hidden(ids); // (T, C)
  const C = m.config.hiddenSize;
  const mean = Array.from({ length: C }, (_, c) => ids.reduce((a, _t, t) => a + h[t * C + c], 0) / ids.length);
  const norm = Math.sqrt(mean.reduce((a, x) => a + x * x, 0));
  const got = (await client.embeddings.create({ model: 'tiny-llama', input: text })).data[0].embedding;
  expect(Math.max(...got.map((x, c) => Math.abs(x - mean[c] / norm)))).toBeLessThan(1e-5);
});

it('several prompts, echo, best_of, aliases and tokenize', async () => {
  const multi = await client.completions.create({ model: 'alias-d', prompt: ['One', 'Two'], n: 2, max_tokens: 3, temperature: 1, seed: 2, echo: true });
  expect(multi.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
  expect(multi.choices[2].text.startsWith('Two')).toBe(true);
  const scored = await client.completions.create({ model: 'tiny-llama', prompt: 'Score every token here', echo: true, logprobs: 1, max_tokens: 1 });
  const ids = orch.facts.tokenizer.encode('Score every token here');
  expect(scored.choices[0].logprobs?.token_logprobs?.slice(0, ids.length).map((x) => x === null || Number.isFinite(x))).toEqual(ids.map(() => true));
  expect(scored.choices[0].logprobs?.token_logprobs?.[1]).toEqual(expect.any(Number));
  const best = await client.completions.create({ model: 'tiny-llama', prompt: 'The', n: 1, best_of: 3, max_tokens: 3, temperature: 1, seed: 2 });
  expect(best.choices).toHaveLength(1);
  expect((await client.models.list()).data.map((d) => d.id)).toEqual(['tiny-llama', 'alias-d']);
  const t = await (await fetch(`http://${orch.http}/tokenize`, { method: 'POST', body: JSON.stringify({ prompt: 'hi there' }) })).json();
  expect(t.tokens).toEqual(orch.facts.tokenizer.encode('hi there'));
});
