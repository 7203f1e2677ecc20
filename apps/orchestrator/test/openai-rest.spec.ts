/*
 * The rest of the OpenAI surface through the official SDK against the embedded platform:
 * several prompts in one completions request (strings and token lists, streamed and whole), echo
 * (with logprobs: every prompt token scored as the reference forward scores it),
 * best_of with n, /v1/models/{id} and served-model-name aliases, /tokenize and /detokenize (vLLM's
 * shapes), chat without max_tokens running to the end of the context, max_completion_tokens,
 * stream_options.include_usage, seed reproducibility, and 400s naming fields this server does not
 * implement.
 */
import OpenAI from 'openai';
import { loadModelDir, Transformer } from '@llm/model';
import { inference } from '@llm/proto';
import { expectPoolWhole, startTestPlatform, type TestPlatform } from './support/platform';

let p: TestPlatform;
let client: OpenAI;
let base: string;

beforeAll(async () => {
  p = await startTestPlatform({ numBlocks: 300, blockSize: 4, config: { httpPort: 0, servedModelName: ['tiny-llama', 'alias-a', 'alias-b'] } });
  base = `http://${p.orch.http}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => p.close());
afterEach(async () => {
  await new Promise((r) => setTimeout(r, 40));
  expectPoolWhole(p.pools);
});

const post = async (path: string, body: unknown) => (await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();

it('several prompts: choice i*n + j is prompt i sample j, the same as asking one by one', async () => {
  const prompts = ['The quick', 'A model', 'Numbers like'];
  const multi = await client.completions.create({ model: 'tiny-llama', prompt: prompts, n: 2, max_tokens: 5, temperature: 1, seed: 11 });
  expect(multi.choices.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
  for (const [i, prompt] of prompts.entries()) {
    const one = await client.completions.create({ model: 'tiny-llama', prompt, n: 2, max_tokens: 5, temperature: 1, seed: 11 });
    expect(multi.choices.slice(2 * i, 2 * i + 2).map((c) => c.text)).toEqual(one.choices.map((c) => c.text));
  }
  expect(multi.usage?.completion_tokens).toBe(30);
  const ids = [[5, 6, 7], [8, 9]];
  const streamed = await client.completions.create({ model: 'tiny-llama', prompt: ids, max_tokens: 4, temperature: 0, stream: true, stream_options: { include_usage: true }, ignore_eos: true } as never);
  const texts = ['', ''];
  let usage: OpenAI.CompletionUsage | undefined | null;
  for await (const chunk of streamed as unknown as AsyncIterable<OpenAI.Completion>) {
    for (const c of chunk.choices) texts[c.index] += c.text;
    if (chunk.usage) usage = chunk.usage;
  }
  const whole = await client.completions.create({ model: 'tiny-llama', prompt: ids, max_tokens: 4, temperature: 0, ignore_eos: true } as never);
  expect(texts).toEqual((whole as OpenAI.Completion).choices.map((c) => c.text));
  expect(usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 8 });
});

it('echo puts the prompt before each choice; best_of returns the n most likely of best_of samples', async () => {
  const r = await client.completions.create({ model: 'tiny-llama', prompt: 'Hello there', echo: true, max_tokens: 3, temperature: 0 });
  expect(r.choices[0].text.startsWith('Hello there')).toBe(true);
  const body = { model: 'tiny-llama', prompt: 'The', max_tokens: 4, temperature: 1, seed: 3, ignore_eos: true } as const;
  const all = await client.completions.create({ ...body, n: 4, logprobs: 0 });
  const total = (c: OpenAI.CompletionChoice) => (c.logprobs?.token_logprobs ?? []).reduce((a, b) => a + (b ?? 0), 0);
  const ranked = [...all.choices].sort((a, b) => total(b) - total(a)).slice(0, 2).map((c) => c.text);
  const best = await client.completions.create({ ...body, n: 2, best_of: 4 });
  expect(best.choices.map((c) => c.text)).toEqual(ranked);
  expect(best.choices[0].logprobs).toBeNull();
  await expect(client.completions.create({ ...body, n: 2, best_of: 4, stream: true })).rejects.toMatchObject({ status: 400, param: 'best_of' });
  await expect(client.completions.create({ ...body, n: 3, best_of: 2 })).rejects.toMatchObject({ status: 400, param: 'best_of' });
});

it('echo with logprobs scores every prompt token like the reference forward (chunked, twice: no prefix-cache gaps)', async () => {
  const m = await loadModelDir(p.model.dir);
  const ref = new Transformer(m.config, m.weights);
  const text = 'The quick brown fox jumps over the lazy dog, and the model scores it. '.repeat(3);
  const ids = p.orch.facts.tokenizer.encode(text);
  expect(ids.length).toBeGreaterThan(64); // longer than one step's token budget: scored across chunks
  const logits = await ref.forward(ids); // (T, V)
  const V = m.config.vocabSize;
  const want = ids.slice(1).map((id, t) => {
    const row = logits.subarray(t * V, (t + 1) * V);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
    return row[id] - lse; // log softmax(l_t)[x_{t+1}]
  });
  for (let round = 0; round < 2; round++) {
    const r = await client.completions.create({ model: 'tiny-llama', prompt: text, echo: true, logprobs: 1, max_tokens: 1, temperature: 0 });
    const lp = r.choices[0].logprobs as OpenAI.Completions.CompletionChoice.Logprobs;
    expect(lp.tokens?.length).toBe(ids.length + 1);
    expect(lp.token_logprobs?.[0]).toBeNull();
    const got = (lp.token_logprobs ?? []).slice(1, ids.length) as number[];
    expect(Math.max(...got.map((g, i) => Math.abs(g - want[i])))).toBeLessThan(1e-4);
    for (const [i, top] of (lp.top_logprobs ?? []).slice(1, ids.length).entries()) expect(Math.max(...Object.values(top ?? {}))).toBeGreaterThanOrEqual(got[i] - 1e-5);
  }
  const grpc = await p.orch.inference.complete(inference.CompleteRequest.fromPartial({ promptTokenIds: ids, sampling: { maxTokens: 1, promptLogprobs: 0 } }));
  expect(grpc.promptLogprobs.map((x) => x.tokenId)).toEqual(ids.slice(1));
});

it('models by id and alias; requests may name any alias', async () => {
  const list = await client.models.list();
  expect(list.data.map((m) => m.id)).toEqual(['tiny-llama', 'alias-a', 'alias-b']);
  expect(await client.models.retrieve('alias-b')).toMatchObject({ id: 'alias-b', object: 'model' });
  await expect(client.models.retrieve('nope')).rejects.toMatchObject({ status: 404 });
  const r = await client.completions.create({ model: 'alias-a', prompt: 'x', max_tokens: 1 });
  expect(r.choices).toHaveLength(1);
});

it('tokenize and detokenize in vLLM shapes', async () => {
  const t = await post('/tokenize', { prompt: 'Hello world', add_special_tokens: false, return_token_strs: true });
  expect(t.tokens).toEqual(p.orch.facts.tokenizer.encode('Hello world', { addSpecialTokens: false }));
  expect(t).toMatchObject({ count: t.tokens.length, max_model_len: 256 });
  expect(t.token_strs).toHaveLength(t.count);
  expect(await post('/detokenize', { tokens: t.tokens })).toEqual({ prompt: 'Hello world' });
  expect((await post('/detokenize', { tokens: ['x'] })).error.param).toBe('tokens[0]');
});

it('chat without max_tokens runs to the end of the context; max_completion_tokens caps it', async () => {
  const messages = [{ role: 'user' as const, content: 'Go on forever' }];
  const r = await client.chat.completions.create({ model: 'tiny-llama', messages, temperature: 0, ignore_eos: true } as never);
  const c = r as OpenAI.ChatCompletion;
  expect(c.choices[0].finish_reason).toBe('length');
  expect((c.usage?.prompt_tokens ?? 0) + (c.usage?.completion_tokens ?? 0)).toBe(256);
  const capped = await client.chat.completions.create({ model: 'tiny-llama', messages, max_completion_tokens: 3, ignore_eos: true } as never);
  expect((capped as OpenAI.ChatCompletion).usage?.completion_tokens).toBe(3);
});

it('seed reproduces samples; fields that would change the reply but are not implemented are refused', async () => {
  const body = { model: 'tiny-llama', prompt: 'Once', max_tokens: 6, temperature: 1.2, seed: 99, n: 3 };
  const a = await client.completions.create(body);
  const b = await client.completions.create(body);
  expect(a.choices.map((c) => c.text)).toEqual(b.choices.map((c) => c.text));
  for (const [field, value] of [['suffix', 'tail'], ['functions', [{ name: 'f' }]], ['audio', { voice: 'x' }]] as const) {
    await expect(client.completions.create({ ...body, [field]: value } as never)).rejects.toMatchObject({ status: 400, param: field });
  }
  await expect(client.completions.create({ ...body, n: 9 })).rejects.toMatchObject({ status: 400, param: 'n', message: expect.stringMatching(/\[1, 8\]/) });
});
