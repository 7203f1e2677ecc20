/*
 * The OpenAI-compatible HTTP front: POST /v1/completions, POST /v1/chat/completions (both with
 * SSE streaming: `data: {chunk}\n\n` ... `data: [DONE]\n\n`), GET /v1/models, GET /metrics
 * (Prometheus text), and health: GET /health and /health/ready (200, or 503 with the reason while
 * a dependency is down), GET /health/live (200 while the process runs); embeddings,
 * /v1/models/{id}, /tokenize, /detokenize are in extra-routes.ts. Every handler goes through the
 * same InferenceService as gRPC, so validation, intake and cancellation are shared: a client that
 * disconnects aborts its request. Bodies are read with a size limit and a depth check
 * (body-reader.ts) and checked by one zod schema each (./schemas).
 *
 * API keys: when `auth` is given, every request but the exempt paths (/health, /health/live,
 * /health/ready, /metrics by default) must carry `Authorization: Bearer KEY` (401 otherwise); the key's tenant salts the
 * request's prefix cache. With --allow-trace, a body's `trace` asks for an internals trace (it comes
 * back beside `choices`, or on the final chunk) and GET /internals serves the page that draws one
 * (trace-http.ts, internals-page.ts).
 *
 * Telemetry (libs/platform's observeHttp): every request is counted and timed by route and status,
 * gets a request id (response header `x-request-id`; a completion's requests carry it, a list of
 * prompts as <id>.<i> from the second on) and, when tracing is on, a server span.
 * What it is not: an Express app (a plain node:http request listener, which NestJS's express
 * adapter or node:http can host alike) or the key check itself (libs/platform).
 * Reference: OpenAI API reference; vLLM's OpenAI-compatible server for the extra fields.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkHttpAuth, metricsRegistry, observeHttp, requestIdOf, type AuthPolicy, type CallContext, type TenantContext } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { InferenceService } from '../api/inference.service';
import type { ModelFacts } from '../api/model-facts';
import { renderChat } from './chat-template';
import { HttpError, errorBody, toHttpError } from './errors';
import { promptCharsProblem } from '../api/request-rules';
import { readJsonBody, DEFAULT_MAX_JSON_DEPTH, type BodyLimits } from './body-reader';
import { parseChatBody, parseChatRequest, parseCompletionBody, type ParsedBody } from './openai-body';
import { chunkOf, usageChunk, wholeResponse, type Envelope, type Kind } from './openai-format';
import { httpGrammarParam } from './schemas/structured-output';
import { detokenize, embeddings, getModel, listModels, tokenize } from './extra-routes';
import { renderChatWithTools, toolFamilyOf, ToolCallStreamer } from '../tools';
import { toolChunk, toolMessage } from './chat-tools';
import { toolRequestOf } from './schemas/tools';
import { restOfContext } from '../api/chat';
import { completeAll, generateAll, promptLogprobsOf } from './multi-prompt';
import { promptIdsOf, withPromptLogprobs } from './echo';
import { serveInternals } from './internals-page';
import { traceJson } from './trace-http';

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
  /** API key check (absent: the API is open). */
  auth?: AuthPolicy;
  /** Serve the /internals page (the server allows internals traces). */
  internals?: boolean;
  /** Body size and nesting limits (defaults: 16 MiB, 64 levels), and the longest prompt text tokenized. */
  limits?: Partial<BodyLimits> & { maxPromptChars?: number };
  /** Readiness for /health (default: always ready). */
  health?: () => HealthReport;
}

let idCounter = 0;

const ROUTES = ['/health', '/health/live', '/health/ready', '/metrics', '/internals', '/v1/models', '/v1/completions', '/v1/chat/completions', '/v1/embeddings', '/tokenize', '/detokenize'];

/** The route template of a path, for metric labels (a bounded set). */
function routeOf(_method: string, path: string): string {
  if (ROUTES.includes(path)) return path;
  if (path.startsWith('/internals/')) return '/internals/{file}';
  return path.startsWith('/v1/models/') ? '/v1/models/{id}' : 'other';
}

export function createOpenAiHandler(opts: OpenAiHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return observeHttp((req, res) => {
    const auth = checkHttpAuth(opts.auth, req, res); // answers 401 itself
    if (!auth.ok) return;
    route(opts, req, res, auth.tenant).catch((err) => sendError(res, toHttpError(err)));
  }, { route: routeOf });
}

async function route(opts: OpenAiHttpOptions, req: IncomingMessage, res: ServerResponse, tenant: string | undefined): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (method === 'GET' && (path === '/health' || path === '/health/ready')) return sendHealth(res, opts.health?.() ?? { ready: true });
  if (method === 'GET' && path === '/health/live') return sendJson(res, 200, { status: 'ok' });
  if (method === 'GET' && path === '/metrics') {
    const reg = metricsRegistry();
    res.writeHead(200, { 'Content-Type': reg.contentType });
    res.end(await reg.metrics());
    return;
  }
  if (method === 'GET' && (path === '/internals' || path.startsWith('/internals/'))) return serveInternals(path, opts.internals ?? false, res);
  if (method === 'GET' && path === '/v1/models') return sendJson(res, 200, listModels(opts.facts));
  if (method === 'GET' && path.startsWith('/v1/models/')) return sendJson(res, 200, getModel(opts.facts, decodeURIComponent(path.slice('/v1/models/'.length))));
  const post = method === 'POST' ? path : undefined;
  if (post === '/v1/embeddings') return sendJson(res, 200, await embeddings(opts.service, await readBody(opts, req), ctxOf(req, res, tenant), requestIdOf(req)));
  if (post === '/tokenize') return sendJson(res, 200, await tokenize(opts.service, opts.facts, await readBody(opts, req)));
  if (post === '/detokenize') return sendJson(res, 200, await detokenize(opts.service, await readBody(opts, req)));
  if (post === '/v1/completions' || post === '/v1/chat/completions') {
    const body = await readBody(opts, req);
    const kind: Kind = path === '/v1/completions' ? 'completion' : 'chat';
    const parsed = kind === 'completion' ? parseCompletionBody(body) : chatBody(opts, body);
    return serveGeneration(opts, kind, parsed, req, res, tenant);
  }
  const known = ROUTES.includes(path);
  throw new HttpError(known ? 405 : 404, known ? `${method} is not allowed on ${path}` : `no route ${method} ${path.slice(0, 200)} (try POST /v1/completions, POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models)`);
}

/** The body as JSON, read within the size limit and depth-checked (body-reader.ts). */
function readBody(opts: OpenAiHttpOptions, req: IncomingMessage): Promise<Record<string, unknown>> {
  const limits = { maxBodyBytes: opts.limits?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, maxJsonDepth: opts.limits?.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH };
  return readJsonBody(req, limits);
}

/** A call context whose signal aborts when the client goes away before the answer is written. */
function ctxOf(req: IncomingMessage, res: ServerResponse, tenant: string | undefined): CallContext & TenantContext {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return { signal: controller.signal, tenant } as CallContext & TenantContext;
}

function sendHealth(res: ServerResponse, h: HealthReport): void {
  if (h.ready) return sendJson(res, 200, { status: 'ok' });
  res.setHeader('Retry-After', '1');
  sendJson(res, 503, { status: 'unavailable', reason: h.reason ?? 'not ready' });
}

function chatBody(opts: OpenAiHttpOptions, raw: Record<string, unknown>): ParsedBody {
  const facts = opts.facts;
  const { body, messages } = parseChatRequest(raw);
  let chars = 0;
  for (const m of messages) chars += m.content.length;
  const tooLong = promptCharsProblem(chars, opts.limits?.maxPromptChars ?? Infinity); // before rendering and tokenizing
  if (tooLong) throw new HttpError(400, `messages: ${tooLong}`, 'messages');
  const tools = toolRequestOf(body, toolFamilyOf(facts.tokenizerConfig, facts.architecture));
  let chat;
  try {
    chat = tools ? renderChatWithTools(facts.tokenizerConfig, messages, tools.tools) : renderChat(facts.tokenizerConfig, messages);
  } catch (err) {
    throw new HttpError(400, `messages: could not be rendered with the chat template: ${(err as Error).message.slice(0, 300)}`, 'messages');
  }
  const ids = facts.tokenizer.encode(chat.prompt, { addSpecialTokens: false });
  const parsed = parseChatBody(body, ids, chat.stop);
  if (tools) {
    parsed.tools = { family: tools.family };
    parsed.request.sampling ??= {} as inference.SamplingParams;
    parsed.request.sampling.skipSpecialTokens ??= false; // markers such as <|python_tag|> are special tokens
    if (tools.grammar) {
      if (parsed.structured) throw new HttpError(400, `tool_choice: required / a named function cannot be combined with ${parsed.structured.field}`, 'tool_choice');
      parsed.request.structuredOutput = { grammar: tools.grammar };
      parsed.structured = { field: 'tools', message: parsed.request.structuredOutput };
    }
  }
  // No max_tokens: the rest of the context window (as vLLM does), within what the KV pool can hold.
  parsed.request.sampling ??= {} as inference.SamplingParams;
  if (parsed.request.sampling.maxTokens === undefined) parsed.request.sampling.maxTokens = restOfContext(facts, ids.length);
  return parsed;
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
  const requestId = requestIdOf(req);
  parsed.requests.forEach((r, i) => (r.requestId = i === 0 ? requestId : `${requestId}.${i}`));
  try {
    if (!parsed.stream) {
      const whole = await completeAll(opts.service, parsed.requests, ctx);
      if (parsed.echo) for (const c of whole.choices) c.text = promptText(opts.facts, parsed, c.index) + c.text;
      const body = wholeResponse(kind, { ...env, id: env.id }, whole, parsed.logprobs);
      if (parsed.echo && parsed.logprobs) {
        const n = parsed.request.sampling?.n ?? 1;
        for (const c of body.choices as Array<{ index: number; logprobs: Parameters<typeof withPromptLogprobs>[3] }>) {
          const i = Math.floor(c.index / n);
          c.logprobs = withPromptLogprobs(opts.facts, promptIdsOf(opts.facts, parsed.requests[i]), promptLogprobsOf(whole, i), c.logprobs);
        }
      }
      const tools = parsed.tools;
      if (tools && 'message' in body.choices[0]) {
        for (const c of body.choices as Array<Record<string, unknown>>) Object.assign(c, toolMessage(tools.family, (c.message as { content: string }).content, c.finish_reason as string | null));
      }
      return sendJson(res, 200, whole.trace ? { ...body, trace: traceJson(whole.trace, opts.facts) } : body);
    }
    await streamGeneration(opts, kind, parsed, env, ctx, res);
  } catch (err) {
    const e = toHttpError(err);
    const param = httpGrammarParam(e.param, parsed.structured);
    throw param === e.param ? e : new HttpError(e.status, e.message, param, e.type, e.code);
  }
}

async function streamGeneration(opts: OpenAiHttpOptions, kind: Kind, parsed: ParsedBody, env: Envelope, ctx: CallContext, res: ServerResponse): Promise<void> {
  const stream = generateAll(opts.service, parsed.requests, ctx);
  let started = false;
  const first = new Set<number>();
  const textOffset = new Map<number, number>();
  const streamers = new Map<number, ToolCallStreamer>();
  const scored = new Map<number, inference.TokenLogprob[]>(); // prompt index -> its prompt logprobs
  let usage: inference.Usage | undefined;
  try {
    for await (const d of stream) {
      if (!started) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
        started = true;
      }
      const isFirst = !first.has(d.index);
      first.add(d.index);
      if (isFirst && parsed.echo) d.text = promptText(opts.facts, parsed, d.index) + d.text;
      const off = textOffset.get(d.index) ?? 0;
      textOffset.set(d.index, off + d.text.length);
      if (parsed.tools) {
        const streamer = streamers.get(d.index) ?? new ToolCallStreamer(parsed.tools.family);
        streamers.set(d.index, streamer);
        const piece = streamer.push(d.text);
        if (d.finishReason) {
          const rest = streamer.finish();
          piece.content += rest.content;
          piece.toolCalls.push(...rest.toolCalls);
        }
        res.write(`data: ${JSON.stringify(withTrace(toolChunk(env, d, piece, isFirst, streamer.numCalls, parsed.logprobs), d, opts.facts))}\n\n`);
      } else {
        const chunk = chunkOf(kind, env, d, parsed.logprobs, off, isFirst);
        const n = parsed.request.sampling?.n ?? 1;
        if (d.promptLogprobs.length > 0) scored.set(Math.floor(d.index / n), d.promptLogprobs);
        if (isFirst && parsed.echo && parsed.logprobs) {
          const c = chunk.choices[0] as { logprobs: Parameters<typeof withPromptLogprobs>[3] };
          const i = Math.floor(d.index / n);
          c.logprobs = withPromptLogprobs(opts.facts, promptIdsOf(opts.facts, parsed.requests[i]), scored.get(i) ?? [], c.logprobs);
        }
        res.write(`data: ${JSON.stringify(withTrace(chunk, d, opts.facts))}\n\n`);
      }
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

/** A chunk, with the internals trace when this delta carries it (the request's last). */
function withTrace<T extends object>(chunk: T, d: inference.GenerateResponse, facts: ModelFacts): T {
  return d.trace ? { ...chunk, trace: traceJson(d.trace, facts) } : chunk;
}

/** The prompt of choice `index` as text (echo). */
function promptText(facts: ModelFacts, parsed: ParsedBody, index: number): string {
  const r = parsed.requests[Math.floor(index / (parsed.request.sampling?.n ?? 1))];
  return r.prompt || facts.tokenizer.decode(r.promptTokenIds);
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
