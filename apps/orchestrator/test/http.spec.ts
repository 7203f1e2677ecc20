/*
 * The OpenAI-compatible HTTP front over the embedded platform, spoken to with plain fetch the way
 * the OpenAI SDKs do: /v1/completions (string and token-id prompts, SSE streaming that
 * concatenates to the whole answer), /v1/chat/completions (default ChatML template), /v1/models,
 * /health, /metrics (exact counts for known requests, promtool-clean), request ids in the
 * `x-request-id` header, and OpenAI-shaped 4xx errors naming the field. Pool whole after each test.
 */
import { metricValue, onPath, parsePrometheusText, promtoolCheckMetrics } from '@llm/testing';
import { expectPoolWhole, startTestPlatform, type TestPlatform } from './support/platform';
import { DEFAULT_CHAT_TEMPLATE } from '../src';
import { Template } from '@huggingface/jinja';

let p: TestPlatform;
let base: string;

beforeAll(async () => {
  p = await startTestPlatform({ numBlocks: 96, blockSize: 4, config: { httpPort: 0 } });
  base = `http://${p.orch.http}`;
});
afterAll(async () => {
  await p.close();
});
afterEach(async () => {
  await new Promise((r) => setTimeout(r, 40));
  expectPoolWhole(p.pools);
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** OpenAI JSON bodies, read loosely as the SDKs do. */
type Json = any;

async function json(res: Response): Promise<Json> {
  return res.json();
}

/** Parses an SSE body into its data payloads (the last is [DONE]). */
function sseEvents(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
}

describe('/v1/completions', () => {
  it('answers a string prompt in the OpenAI shape; streaming concatenates to the same text', async () => {
    const body = { model: 'tiny-llama', prompt: 'The quick brown', max_tokens: 8, temperature: 0, ignore_eos: true };
    const res = await post('/v1/completions', body);
    expect(res.status).toBe(200);
    const whole = await json(res);
    expect(whole).toMatchObject({ object: 'text_completion', model: 'tiny-llama', choices: [{ index: 0, finish_reason: 'length', logprobs: null }] });
    expect(whole.usage.completion_tokens).toBe(8);
    expect(whole.usage.total_tokens).toBe(whole.usage.prompt_tokens + 8);
    const streamed = await post('/v1/completions', { ...body, stream: true, stream_options: { include_usage: true } });
    expect(streamed.headers.get('content-type')).toBe('text/event-stream');
    const events = sseEvents(await streamed.text());
    expect(events[events.length - 1]).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Json);
    const usage = chunks.pop();
    // The second run of the same prompt hits the prefix cache (one full block of 4 tokens).
    expect(usage.usage).toEqual({ ...whole.usage, prompt_tokens_details: { cached_tokens: 4 } });
    expect(chunks.map((c) => c.choices[0].text).join('')).toBe(whole.choices[0].text);
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('length');
  });

  it('takes the prompt as token ids and returns logprobs when asked', async () => {
    const res = await post('/v1/completions', { prompt: [5, 17, 42, 99], max_tokens: 3, temperature: 0, logprobs: 2, ignore_eos: true });
    const whole = await json(res);
    expect(whole.usage.prompt_tokens).toBe(4);
    const lp = whole.choices[0].logprobs;
    expect(lp.tokens).toHaveLength(3);
    expect(lp.text_offset[0]).toBe(0);
    expect(lp.text_offset[1]).toBe(lp.tokens[0].length);
    for (const [i, top] of lp.top_logprobs.entries()) {
      // Greedy: the chosen token is the most likely one, so nothing in its top list beats it.
      // (Entries are keyed by token text, as OpenAI's format does, so byte pieces may collide.)
      const values = Object.values(top) as number[];
      expect(values.length).toBeGreaterThan(0);
      expect(values.length).toBeLessThanOrEqual(2);
      for (const v of values) expect(v).toBeLessThanOrEqual(lp.token_logprobs[i] + 1e-5);
    }
  });
});

describe('/v1/chat/completions', () => {
  it('renders the default ChatML template and answers as the assistant', async () => {
    const messages = [{ role: 'user', content: 'Say something' }];
    const res = await post('/v1/chat/completions', { messages, max_tokens: 5, temperature: 0 });
    const whole = await json(res);
    expect(whole).toMatchObject({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant' } }] });
    const prompt = new Template(DEFAULT_CHAT_TEMPLATE).render({ messages, add_generation_prompt: true });
    expect(prompt).toBe('<|im_start|>user\nSay something<|im_end|>\n<|im_start|>assistant\n');
    expect(whole.usage.prompt_tokens).toBe(p.orch.facts.tokenizer.encode(prompt, { addSpecialTokens: false }).length);
    const streamed = await post('/v1/chat/completions', { messages, max_tokens: 5, temperature: 0, stream: true });
    const chunks = sseEvents(await streamed.text()).slice(0, -1).map((e) => JSON.parse(e) as Json);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(whole.choices[0].message.content);
  });
});

describe('other routes', () => {
  it('lists the model and answers health', async () => {
    expect(await json(await fetch(`${base}/v1/models`))).toMatchObject({ object: 'list', data: [{ id: 'tiny-llama', object: 'model' }] });
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it('counts known requests exactly in /metrics, and the page passes promtool', async () => {
    const scrape = async () => parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    const model = { model_name: 'tiny-llama' };
    const names = ['llm_generation_tokens_total', 'llm_time_to_first_token_seconds_count', 'llm_e2e_request_latency_seconds_count', 'llm_prompt_tokens_total'];
    const before = await scrape();
    const at = (s: typeof before, name: string, labels: Record<string, string> = model) => metricValue(s, name, labels);
    const ok = { handler: '/v1/completions', method: 'POST', status: '200' };
    const bad = { ...ok, status: '400' };
    const ids: string[] = [];
    let completion = 0;
    for (const body of [{ prompt: 'hi', max_tokens: 3 }, { prompt: 'The model', max_tokens: 2, n: 2 }]) {
      const res = await post('/v1/completions', { ...body, temperature: 0, ignore_eos: true });
      ids.push(res.headers.get('x-request-id') ?? '');
      completion += (await json(res)).usage.completion_tokens;
    }
    const streamed = await post('/v1/completions', { prompt: 'hi', max_tokens: 4, temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
    ids.push(streamed.headers.get('x-request-id') ?? '');
    const events = sseEvents(await streamed.text()).slice(0, -1).map((e) => JSON.parse(e) as Json);
    completion += events[events.length - 1].usage.completion_tokens;
    expect((await post('/v1/completions', { prompt: '' })).status).toBe(400);
    expect(completion).toBe(3 + 2 * 2 + 4);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^req-/);
    const after = await scrape();
    expect(at(after, 'llm_generation_tokens_total') - at(before, 'llm_generation_tokens_total')).toBe(completion);
    expect(at(after, 'llm_time_to_first_token_seconds_count') - at(before, 'llm_time_to_first_token_seconds_count')).toBe(3);
    expect(at(after, 'llm_e2e_request_latency_seconds_count') - at(before, 'llm_e2e_request_latency_seconds_count')).toBe(3);
    expect(at(after, 'llm_request_success_total', { ...model, finished_reason: 'length' }) - at(before, 'llm_request_success_total', { ...model, finished_reason: 'length' })).toBe(4);
    expect(at(after, 'http_requests_total', ok) - at(before, 'http_requests_total', ok)).toBe(3);
    expect(at(after, 'http_requests_total', bad) - at(before, 'http_requests_total', bad)).toBe(1);
    for (const name of names) expect(after.some((s) => s.name === name)).toBe(true);
    if (onPath('promtool')) {
      const check = promtoolCheckMetrics(await (await fetch(`${base}/metrics`)).text());
      expect(check.output).toBe('');
      expect(check.ok).toBe(true);
    } else if (process.env.CI) throw new Error('promtool is not installed (.ci/run installs it)');
  });
});

describe('HTTP errors', () => {
  const cases: [string, unknown, number, string | null][] = [
    ['malformed JSON', '{"prompt": ', 400, null],
    ['empty prompt', { prompt: '' }, 400, 'prompt'],
    ['negative temperature', { prompt: 'hi', temperature: -1 }, 400, 'temperature'],
    ['temperature of the wrong type', { prompt: 'hi', temperature: 'hot' }, 400, 'temperature'],
    ['max_tokens 0', { prompt: 'hi', max_tokens: 0 }, 400, 'max_tokens'],
    ['n above the maximum', { prompt: 'hi', n: 50 }, 400, 'n'],
    ['unknown model', { prompt: 'hi', model: 'nope' }, 404, 'model'],
  ];
  it.each(cases)('%s -> %i with the OpenAI error shape', async (_name, body, status, param) => {
    const res = await post('/v1/completions', body);
    expect(res.status).toBe(status);
    const body2 = await json(res);
    expect(body2.error).toMatchObject({ message: expect.any(String), type: expect.any(String), param });
  });

  it('a client that disconnects mid-stream cancels the request (blocks freed)', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: controller.signal,
      body: JSON.stringify({ prompt: 'The model', max_tokens: 150, temperature: 0, ignore_eos: true, stream: true }),
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await new Promise((r) => setTimeout(r, 100));
    expect(p.orch.scheduler?.numRunning).toBe(0);
  });
});
