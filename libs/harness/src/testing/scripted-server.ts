/*
 * A scripted OpenAI-compatible HTTP server on 127.0.0.1 (port 0) for tests of the harness and of
 * anything built on it: each endpoint answers through a function of the request body, every
 * request is recorded, and errors can be scripted (status + OpenAI-shaped error body).
 *
 *   POST /v1/chat/completions  chat(body) -> { content?, tool_calls?: [{name, arguments}] } | { status, message }
 *                               (stream: true -> SSE chunks; tool-call arguments in two fragments)
 *   POST /v1/completions       completion(body) -> { text, logprobs?, finish_reason? } | { status, message }
 *   POST /v1/embeddings        embed(text) -> vector (default: hashEmbedding)
 *   POST /tokenize, GET /v1/models
 *
 * What it is not: a model. Tests script the answers they expect the harness to handle.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Scripted<T> = T | { status: number; message: string; param?: string };

export interface ChatScript {
  content?: string | null;
  tool_calls?: Array<{ id?: string; name: string; arguments: string }>;
  usage?: { prompt_tokens: number; completion_tokens: number };
  finish_reason?: string;
}

export interface CompletionScript {
  text: string;
  logprobs?: unknown;
  finish_reason?: string;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

export interface ScriptedHandlers {
  chat?: (body: any) => Scripted<ChatScript> | Promise<Scripted<ChatScript>>;
  completion?: (body: any) => Scripted<CompletionScript> | Promise<Scripted<CompletionScript>>;
  embed?: (text: string) => number[];
  tokenize?: (text: string) => { ids: number[]; pieces: string[] };
  models?: Array<{ id: string; max_model_len?: number }>;
}

export interface ScriptedServer {
  url: string;
  requests: Array<{ method: string; path: string; body: any }>;
  handlers: ScriptedHandlers;
  close(): Promise<void>;
}

const STOPWORDS = new Set('the and for with from what which where when how does did into onto its are was were this that then than each every under above about after before'.split(' '));

/**
 * A deterministic embedding: lowercase content words (three letters or more, common function
 * words left out) hashed (FNV-1a) into `dim` buckets with a sign, L2-normalised. Texts that share
 * words are close; it needs no model.
 */
export function hashEmbedding(text: string, dim = 256): number[] {
  const v = new Array<number>(dim).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    if (word.length < 3 || STOPWORDS.has(word)) continue;
    let h = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193) >>> 0;
    v[h % dim] += h & 0x80000000 ? -1 : 1;
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

const isError = (r: unknown): r is { status: number; message: string; param?: string } => typeof (r as { status?: unknown })?.status === 'number';

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, e: { status: number; message: string; param?: string }): void {
  send(res, e.status, { error: { message: e.message, type: e.status >= 500 ? 'server_error' : 'invalid_request_error', param: e.param ?? null, code: null } });
}

async function readJson(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

function chatMessage(s: ChatScript) {
  const calls = s.tool_calls?.map((c, i) => ({ id: c.id ?? `call_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  return { role: 'assistant', content: s.content ?? null, ...(calls?.length ? { tool_calls: calls } : {}) };
}

function streamChat(res: ServerResponse, s: ChatScript): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (delta: unknown, finish: string | null = null) => res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
  chunk({ role: 'assistant' });
  if (s.content) for (const piece of s.content.match(/.{1,3}/gs) ?? []) chunk({ content: piece });
  (s.tool_calls ?? []).forEach((c, index) => {
    const half = Math.floor(c.arguments.length / 2);
    chunk({ tool_calls: [{ index, id: c.id ?? `call_${index}`, type: 'function', function: { name: c.name, arguments: c.arguments.slice(0, half) } }] });
    chunk({ tool_calls: [{ index, function: { arguments: c.arguments.slice(half) } }] });
  });
  chunk({}, s.finish_reason ?? (s.tool_calls?.length ? 'tool_calls' : 'stop'));
  const u = s.usage ?? { prompt_tokens: 1, completion_tokens: 1 };
  res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { ...u, total_tokens: u.prompt_tokens + u.completion_tokens } })}\n\n`);
  res.end('data: [DONE]\n\n');
}

async function route(h: ScriptedHandlers, method: string, path: string, body: any, res: ServerResponse): Promise<void> {
  if (method === 'GET' && path === '/v1/models') return send(res, 200, { object: 'list', data: (h.models ?? [{ id: 'scripted' }]).map((m) => ({ object: 'model', ...m })) });
  if (method === 'POST' && path === '/v1/chat/completions' && h.chat) {
    const r = await h.chat(body);
    if (isError(r)) return sendError(res, r);
    if (body?.stream) return streamChat(res, r);
    const u = r.usage ?? { prompt_tokens: 1, completion_tokens: 1 };
    const finish = r.finish_reason ?? (r.tool_calls?.length ? 'tool_calls' : 'stop');
    return send(res, 200, { object: 'chat.completion', choices: [{ index: 0, message: chatMessage(r), finish_reason: finish }], usage: { ...u, total_tokens: u.prompt_tokens + u.completion_tokens } });
  }
  if (method === 'POST' && path === '/v1/completions' && h.completion) {
    const r = await h.completion(body);
    if (isError(r)) return sendError(res, r);
    const u = r.usage ?? { prompt_tokens: 1, completion_tokens: 1 };
    return send(res, 200, { object: 'text_completion', choices: [{ index: 0, text: r.text, logprobs: r.logprobs ?? null, finish_reason: r.finish_reason ?? 'stop' }], usage: { ...u, total_tokens: u.prompt_tokens + u.completion_tokens } });
  }
  if (method === 'POST' && path === '/v1/embeddings') {
    const input: string[] = typeof body?.input === 'string' ? [body.input] : body?.input;
    const embed = h.embed ?? ((t: string) => hashEmbedding(t));
    return send(res, 200, { object: 'list', data: input.map((t, index) => ({ object: 'embedding', index, embedding: embed(t) })), usage: { prompt_tokens: 0, total_tokens: 0 } });
  }
  if (method === 'POST' && path === '/tokenize' && h.tokenize) {
    const r = h.tokenize(body.prompt);
    return send(res, 200, { count: r.ids.length, tokens: r.ids, token_strs: r.pieces });
  }
  sendError(res, { status: 404, message: `no route ${method} ${path}` });
}

export async function startScriptedServer(handlers: ScriptedHandlers): Promise<ScriptedServer> {
  const requests: ScriptedServer['requests'] = [];
  const state: ScriptedServer = { url: '', requests, handlers, close: async () => undefined };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    readJson(req)
      .then((body) => {
        requests.push({ method: req.method ?? 'GET', path, body });
        return route(state.handlers, req.method ?? 'GET', path, body, res);
      })
      .catch((err) => sendError(res, { status: 500, message: `scripted server: ${(err as Error).message}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
