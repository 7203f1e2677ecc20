/*
 * The HTTP front against bad and hostile input (issue 16's observed defects 5, 6 and 7):
 * oversized bodies get 413 in the OpenAI error shape (declared or chunked), slow clients get 408
 * within the request timeout, a prompt longer than the limit is refused before it is tokenized,
 * JSON nested 5,000 levels deep in any checked field is a 400 (not a stack overflow), floats
 * beyond float32 and oversized strings are 400s naming the field, and stop_reason has one type
 * per cause in every path (a number for a stop token id, a string for a stop string, digits or
 * not). The pool is whole after each test.
 */
import { connect } from 'node:net';
import { expectPoolWhole, startTestPlatform, type TestPlatform } from './support/platform';

let p: TestPlatform;
let base: string;
let host: string;
let port: number;
const MAX_BODY = 64 * 1024;

beforeAll(async () => {
  p = await startTestPlatform({ numBlocks: 96, blockSize: 4, config: { httpPort: 0, maxBodyBytes: MAX_BODY, maxPromptChars: 2000, httpRequestTimeoutMs: 600, httpHeadersTimeoutMs: 400 } });
  base = `http://${p.orch.http}`;
  [host, port] = [p.orch.http!.split(':')[0], Number(p.orch.http!.split(':')[1])];
});
afterAll(async () => {
  await p.close();
});
afterEach(async () => {
  await new Promise((r) => setTimeout(r, 40));
  expectPoolWhole(p.pools);
});

type Json = any;

async function post(body: unknown, path = '/v1/completions'): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** Writes raw bytes to the HTTP port and collects what comes back until the server closes (bounded). */
function raw(chunks: Array<string | Buffer>, gapMs: number, limitMs = 5000): Promise<{ text: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = connect(port, host);
    let text = '';
    let i = 0;
    const timer = setInterval(() => {
      if (i < chunks.length && !s.destroyed) s.write(chunks[i++]);
    }, gapMs);
    const done = () => {
      clearInterval(timer);
      clearTimeout(cap);
      resolve({ text, ms: Date.now() - t0 });
    };
    const cap = setTimeout(() => s.destroy(), limitMs);
    s.on('data', (b) => (text += b.toString()));
    s.on('close', done);
    s.on('error', () => undefined);
  });
}

describe('body size', () => {
  it('a body declared larger than the limit gets 413 in the OpenAI shape, read or not', async () => {
    const big = JSON.stringify({ prompt: 'x'.repeat(20 * 1024 * 1024) });
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large', message: expect.stringContaining(`${MAX_BODY} bytes`) });
  });

  it('a chunked body that grows past the limit gets 413 too', async () => {
    const head = `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const piece = 'a'.repeat(16 * 1024);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    const r = await raw([head, '10\r\n{"prompt": "aaaa\r\n', ...Array.from({ length: 8 }, () => chunk)], 5);
    expect(r.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(r.text).toContain('"code":"request_too_large"');
  });
});

describe('slow clients', () => {
  it('a client that trickles its body is answered 408 once the request timeout passes', async () => {
    const body = JSON.stringify({ prompt: 'hello', max_tokens: 2 });
    const head = `POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const r = await raw([head, ...body.split('')], 200);
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.ms).toBeLessThan(3000);
  });

  it('a client that never finishes its headers is cut off', async () => {
    const r = await raw(['POST /v1/completions HTTP/1.1\r\n', 'Host: x\r\n', 'X-Slow: 1\r\n', 'X-Slow: 2\r\n', 'X-Slow: 3\r\n', 'X-Slow: 4\r\n'], 250);
    expect(r.ms).toBeLessThan(3000);
    expect(r.text === '' || /^HTTP\/1\.1 408 /.test(r.text)).toBe(true);
  });

  it('a long SSE response is not cut by the request timeout', async () => {
    const t0 = Date.now();
    const res = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'The model', max_tokens: 120, temperature: 0, ignore_eos: true, stream: true }) });
    // A slow reader keeps the response open past the 600 ms request timeout (a fast model would finish within it).
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let paused = false;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += decoder.decode(chunk.value, { stream: true });
      if (!paused) await new Promise((r) => setTimeout(r, 700)); // after the first chunk
      paused = true;
    }
    expect(Date.now() - t0).toBeGreaterThan(600);
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    expect(text).toContain('"finish_reason":"length"');
  });
});

describe('hostile fields', () => {
  it('a prompt longer than the limit is refused before it is tokenized', async () => {
    const encode = jest.spyOn(p.orch.facts.tokenizer, 'encode');
    try {
      const r = await post({ prompt: 'y'.repeat(2001), max_tokens: 2 });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ param: 'prompt', message: expect.stringContaining('2001 characters') });
      const chat = await post({ messages: [{ role: 'user', content: 'z'.repeat(2001) }], max_tokens: 2 }, '/v1/chat/completions');
      expect(chat.status).toBe(400);
      expect(chat.body.error.param).toBe('messages');
      expect(encode).not.toHaveBeenCalled();
    } finally {
      encode.mockRestore();
    }
  });

  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  it.each(['prompt', 'stop', 'logit_bias', 'min_p', 'messages', 'stream_options'])('JSON nested 5,000 levels deep in %s is a 400', async (field) => {
    const path = field === 'messages' ? '/v1/chat/completions' : '/v1/completions';
    const r = await post(`{"prompt": "hi", "messages": [{"role": "user", "content": "hi"}], "${field}": ${deep(5000)}}`, path);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/nests deeper than 64 levels/);
  });

  it('deep but allowed nesting is checked by the schema without recursion trouble', async () => {
    const r = await post(`{"prompt": ${deep(60)}}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ param: 'prompt', message: expect.stringMatching(/^prompt: must be a string or a list of token ids/) });
  });

  it.each([
    ['temperature', 1e308, /temperature: must be a finite number <= 3.4e38, got 1e\+308/],
    ['top_p', 1e-50, null],
    ['presence_penalty', 3.5e38, /presence_penalty: must be a finite number <= 3.4e38/],
    ['repetition_penalty', 1e39, /repetition_penalty: must be a finite number <= 3.4e38/],
    ['n', 2 ** 32, /n: must be an integer in \[1, /],
    ['max_tokens', 2 ** 40, /max_tokens: must be an integer in \[1, 4294967295\]/],
    ['top_k', 2 ** 31, /top_k: must be an integer in \[-1, 2147483647\]/],
    ['seed', 2 ** 60, /seed: must be an integer in \[0, 2\^64\) \(JSON numbers above 2\^53 lose digits/],
    ['seed', '18446744073709551616', /seed: must be an integer in \[0, 2\^64\)/],
  ])('%s = %p is checked against its wire type', async (field, value, message) => {
    const r = await post({ prompt: 'hi', max_tokens: 2, [field]: value });
    if (message === null) {
      expect(r.status).toBe(200);
      return;
    }
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ param: field, message: expect.stringMatching(message) });
  });

  it('a uint64 seed beyond 2^53 given as a string is served, reproducibly', async () => {
    const body = { prompt: 'hi', max_tokens: 6, temperature: 1, ignore_eos: true, seed: '18446744073709551615' };
    const a = await post(body);
    const b = await post(body);
    expect(a.status).toBe(200);
    expect(a.body.choices[0].text).toBe(b.body.choices[0].text);
  });

  it.each([
    ['model', 'm'.repeat(30_000)],
    ['cache_salt', 's'.repeat(30_000)],
    ['user', 'u'.repeat(30_000)],
    ['stop', ['s'.repeat(30_000)]],
  ])('a 30,000-character %s (the body limit here is 64 KiB) is a 400 that does not echo it', async (field, value) => {
    const r = await post({ prompt: 'hi', max_tokens: 2, [field]: value });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/at most \d+ characters, got 30000/);
    expect(r.body.error.message.length).toBeLessThan(300);
  });
});

describe('stop_reason', () => {
  // logit_bias +100 on the token for "1" makes greedy decoding emit it at every step.
  const one = () => p.orch.facts.tokenizer.encode('1', { addSpecialTokens: false });

  it('a stop string made of digits is a string in the whole and the streamed response', async () => {
    const [id] = one();
    const body = { prompt: 'hi', max_tokens: 8, temperature: 0, ignore_eos: true, logit_bias: { [id]: 100 }, stop: ['11'] };
    const whole = await post(body);
    expect(whole.body.choices[0]).toMatchObject({ finish_reason: 'stop', stop_reason: '11' });
    const events = (await (await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) })).text())
      .split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
    expect(events[events.length - 1].choices[0]).toMatchObject({ finish_reason: 'stop', stop_reason: '11' });
  });

  it('a stop token id is a number in both', async () => {
    const [id] = one();
    const body = { prompt: 'hi', max_tokens: 8, temperature: 0, ignore_eos: true, logit_bias: { [id]: 100 }, stop_token_ids: [id] };
    const whole = await post(body);
    expect(whole.body.choices[0]).toMatchObject({ finish_reason: 'stop', stop_reason: id });
    const events = (await (await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) })).text())
      .split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
    expect(events[events.length - 1].choices[0]).toMatchObject({ finish_reason: 'stop', stop_reason: id });
  });
});
