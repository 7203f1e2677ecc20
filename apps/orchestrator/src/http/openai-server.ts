/*
 * The OpenAI-compatible HTTP front: POST /v1/completions, POST /v1/chat/completions (both with
 * SSE streaming: `data: {chunk}\n\n` ... `data: [DONE]\n\n`), GET /v1/models, GET /health,
 * GET /metrics (Prometheus text). Every handler goes through the same InferenceService as gRPC,
 * so validation, intake and cancellation are shared: a client that disconnects aborts its request.
 *
 * API keys: when `auth` is given, every request but the exempt paths (/health, /metrics by
 * default) must carry `Authorization: Bearer KEY` (401 otherwise); the key's tenant salts the
 * request's prefix cache.
 * What it is not: an Express app (a plain node:http request listener, which NestJS's express
 * adapter or node:http can host alike) or the key check itself (libs/platform).
 * Reference: OpenAI API reference; vLLM's OpenAI-compatible server for the extra fields.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkHttpAuth, metricsRegistry, type AuthPolicy, type CallContext, type TenantContext } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { InferenceService } from '../api/inference.service';
import type { ModelFacts } from '../api/model-facts';
import { renderChat } from './chat-template';
import { HttpError, errorBody, toHttpError } from './errors';
import { parseChatBody, parseChatMessages, parseCompletionBody, parseJsonBody, type ParsedBody } from './openai-body';
import { chunkOf, usageChunk, wholeResponse, type Envelope, type Kind } from './openai-format';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface OpenAiHttpOptions {
  service: InferenceService;
  facts: ModelFacts;
  /** Refreshes gauges before /metrics is rendered. */
  beforeMetrics?: () => void;
  /** API key check (absent: the API is open). */
  auth?: AuthPolicy;
}

let idCounter = 0;

export function createOpenAiHandler(opts: OpenAiHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const auth = checkHttpAuth(opts.auth, req, res); // answers 401 itself
    if (!auth.ok) return;
    route(opts, req, res, auth.tenant).catch((err) => sendError(res, toHttpError(err)));
  };
}

async function route(opts: OpenAiHttpOptions, req: IncomingMessage, res: ServerResponse, tenant: string | undefined): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok' });
  if (method === 'GET' && path === '/metrics') {
    opts.beforeMetrics?.();
    const reg = metricsRegistry();
    res.writeHead(200, { 'Content-Type': reg.contentType });
    res.end(await reg.metrics());
    return;
  }
  if (method === 'GET' && path === '/v1/models') {
    return sendJson(res, 200, { object: 'list', data: [{ id: opts.facts.modelId, object: 'model', created: 0, owned_by: 'llm', max_model_len: opts.facts.maxContextTokens }] });
  }
  if (method === 'POST' && (path === '/v1/completions' || path === '/v1/chat/completions')) {
    const body = parseJsonBody(await readBody(req));
    const kind: Kind = path === '/v1/completions' ? 'completion' : 'chat';
    const parsed = kind === 'completion' ? parseCompletionBody(body) : chatBody(opts.facts, body);
    return serveGeneration(opts, kind, parsed, req, res, tenant);
  }
  const known = ['/health', '/metrics', '/v1/models', '/v1/completions', '/v1/chat/completions'].includes(path);
  throw new HttpError(known ? 405 : 404, known ? `${method} is not allowed on ${path}` : `no route ${method} ${path} (try POST /v1/completions, POST /v1/chat/completions, GET /v1/models)`);
}

function chatBody(facts: ModelFacts, body: Record<string, unknown>): ParsedBody {
  const messages = parseChatMessages(body);
  let chat;
  try {
    chat = renderChat(facts.tokenizerConfig, messages);
  } catch (err) {
    throw new HttpError(400, `messages could not be rendered with the chat template: ${(err as Error).message}`, 'messages');
  }
  return parseChatBody(body, facts.tokenizer.encode(chat.prompt, { addSpecialTokens: false }), chat.stop);
}

async function serveGeneration(
  opts: OpenAiHttpOptions,
  kind: Kind,
  parsed: ParsedBody,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: string | undefined,
): Promise<void> {
  const env: Envelope = { id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${Date.now().toString(36)}${(idCounter++).toString(36)}`, created: Math.floor(Date.now() / 1000), model: opts.facts.modelId };
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const ctx = { signal: controller.signal, tenant } as CallContext & TenantContext;
  if (!parsed.stream) {
    const whole = await opts.service.complete(parsed.request, ctx);
    return sendJson(res, 200, wholeResponse(kind, { ...env, id: env.id }, whole, parsed.logprobs));
  }
  await streamGeneration(opts, kind, parsed, env, ctx, res);
}

async function streamGeneration(opts: OpenAiHttpOptions, kind: Kind, parsed: ParsedBody, env: Envelope, ctx: CallContext, res: ServerResponse): Promise<void> {
  const stream = opts.service.generate(parsed.request, ctx);
  let started = false;
  const first = new Set<number>();
  const textOffset = new Map<number, number>();
  let usage: inference.Usage | undefined;
  try {
    for await (const d of stream) {
      if (!started) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
        started = true;
      }
      const isFirst = !first.has(d.index);
      first.add(d.index);
      const off = textOffset.get(d.index) ?? 0;
      textOffset.set(d.index, off + d.text.length);
      res.write(`data: ${JSON.stringify(chunkOf(kind, env, d, parsed.logprobs, off, isFirst))}\n\n`);
      if (d.usage) usage = d.usage;
    }
  } catch (err) {
    if (!started) throw err;
    res.write(`data: ${JSON.stringify(errorBody(toHttpError(err)))}\n\n`);
  }
  if (!started) res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  if (parsed.includeUsage) res.write(`data: ${JSON.stringify(usageChunk(kind, env, usage))}\n\n`);
  res.end('data: [DONE]\n\n');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, e.status, errorBody(e));
}
