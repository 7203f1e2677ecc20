/*
 * The OpenAI-compatible HTTP front: POST /v1/completions, POST /v1/chat/completions (both with
 * SSE streaming: `data: {chunk}\n\n` ... `data: [DONE]\n\n`), GET /v1/models, GET /metrics
 * (Prometheus text), and health: GET /health and /health/ready (200, or 503 with the reason while
 * a dependency is down), GET /health/live (200 while the process runs). Every handler goes through
 * the same InferenceService as gRPC, so validation, intake and cancellation are shared: a client
 * that disconnects aborts its request. Bodies are read with a size limit and a depth check
 * (body-reader.ts) and checked by the zod schemas in ./schemas.
 *
 * What it is not: an Express app (a plain node:http request listener, which NestJS's express
 * adapter or node:http can host alike) or authentication.
 * Reference: OpenAI API reference; vLLM's OpenAI-compatible server for the extra fields.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metricsRegistry, type CallContext } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { InferenceService } from '../api/inference.service';
import type { ModelFacts } from '../api/model-facts';
import { promptCharsProblem } from '../api/request-rules';
import { readJsonBody, DEFAULT_MAX_JSON_DEPTH, type BodyLimits } from './body-reader';
import { renderChat } from './chat-template';
import { HttpError, errorBody, toHttpError } from './errors';
import { parseChatBody, parseChatRequest, parseCompletionBody, type ParsedBody } from './openai-body';
import { chunkOf, usageChunk, wholeResponse, type Envelope, type Kind } from './openai-format';

/** Default body limit: 16 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Readiness as /health reports it. */
export interface HealthReport {
  ready: boolean;
  /** Why not ready (a dependency and what is wrong with it). */
  reason?: string;
}

export interface OpenAiHttpOptions {
  service: InferenceService;
  facts: ModelFacts;
  /** Refreshes gauges before /metrics is rendered. */
  beforeMetrics?: () => void;
  /** Body size and nesting limits (defaults: 16 MiB, 64 levels). */
  limits?: Partial<BodyLimits> & { maxPromptChars?: number };
  /** Readiness for /health (default: always ready). */
  health?: () => HealthReport;
}

let idCounter = 0;

export function createOpenAiHandler(opts: OpenAiHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(opts, req, res).catch((err) => sendError(res, toHttpError(err)));
  };
}

async function route(opts: OpenAiHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (method === 'GET' && (path === '/health' || path === '/health/ready')) return sendHealth(res, opts.health?.() ?? { ready: true });
  if (method === 'GET' && path === '/health/live') return sendJson(res, 200, { status: 'ok' });
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
    const limits = { maxBodyBytes: opts.limits?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, maxJsonDepth: opts.limits?.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH };
    const body = await readJsonBody(req, limits);
    const kind: Kind = path === '/v1/completions' ? 'completion' : 'chat';
    const parsed = kind === 'completion' ? parseCompletionBody(body) : chatBody(opts, body);
    return serveGeneration(opts, kind, parsed, req, res);
  }
  const known = ['/health', '/health/live', '/health/ready', '/metrics', '/v1/models', '/v1/completions', '/v1/chat/completions'].includes(path);
  throw new HttpError(known ? 405 : 404, known ? `${method} is not allowed on ${path}` : `no route ${method} ${path.slice(0, 200)} (try POST /v1/completions, POST /v1/chat/completions, GET /v1/models)`);
}

function sendHealth(res: ServerResponse, h: HealthReport): void {
  if (h.ready) return sendJson(res, 200, { status: 'ok' });
  res.setHeader('Retry-After', '1');
  sendJson(res, 503, { status: 'unavailable', reason: h.reason ?? 'not ready' });
}

function chatBody(opts: OpenAiHttpOptions, raw: Record<string, unknown>): ParsedBody {
  const { body, messages } = parseChatRequest(raw);
  let chars = 0;
  for (const m of messages) chars += m.content.length;
  const tooLong = promptCharsProblem(chars, opts.limits?.maxPromptChars ?? Infinity); // before rendering and tokenizing
  if (tooLong) throw new HttpError(400, `messages: ${tooLong}`, 'messages');
  let chat;
  try {
    chat = renderChat(opts.facts.tokenizerConfig, messages);
  } catch (err) {
    throw new HttpError(400, `messages: could not be rendered with the chat template: ${(err as Error).message.slice(0, 300)}`, 'messages');
  }
  return parseChatBody(body, opts.facts.tokenizer.encode(chat.prompt, { addSpecialTokens: false }), chat.stop);
}

async function serveGeneration(opts: OpenAiHttpOptions, kind: Kind, parsed: ParsedBody, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const env: Envelope = { id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${Date.now().toString(36)}${(idCounter++).toString(36)}`, created: Math.floor(Date.now() / 1000), model: opts.facts.modelId };
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const ctx = { signal: controller.signal } as CallContext;
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
  if (e.status === 503 || e.status === 429) res.setHeader('Retry-After', '1');
  sendJson(res, e.status, errorBody(e));
}
