/*
 * ModelClient over an OpenAI-compatible HTTP endpoint (this platform, vLLM, OpenAI):
 * POST /v1/chat/completions, /v1/completions, /v1/embeddings, /tokenize (vLLM's shape) and
 * GET /v1/models, each through the retry policy and the concurrency limit (retry.ts).
 * Error bodies in OpenAI's shape ({error: {message, param}}) become one-line EndpointErrors
 * naming the status, the path and the field the server blamed.
 *
 * What it is not: an SDK. Only the fields the harness uses are typed; unknown response fields
 * are ignored. Streaming lives in openai-stream.ts.
 * Reference: OpenAI API reference; vLLM OpenAI-compatible server (/tokenize).
 */
import { EndpointError, Limiter, RETRIABLE_HTTP, type RetryPolicy, withRetries } from './retry';
import { ChatStreamAccumulator, parseChatResponse, sseChunks, usageOf } from './openai-stream';
import type { CallOptions, ChatRequest, ChatResult, CompletionRequest, CompletionResult, ModelClient, ModelInfo, TokenizeResult, Usage } from './types';

export interface OpenAiHttpOptions {
  /** Base URL: `http://host:port` or `http://host:port/v1` (both work). */
  baseUrl: string;
  /** Default model name for requests that give none. */
  model?: string;
  apiKey?: string;
  retry?: RetryPolicy;
  /** Most requests in flight at once (default 8). */
  concurrency?: number;
  /** Injected fetch (tests); default the global one. */
  fetch?: typeof fetch;
}

export class OpenAiHttpClient implements ModelClient {
  readonly endpoint: string;
  private readonly root: string;
  private readonly limiter: Limiter;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: OpenAiHttpOptions) {
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch {
      throw new Error(`endpoint '${opts.baseUrl}' is not a URL (expected e.g. http://127.0.0.1:8080)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`endpoint '${opts.baseUrl}' must be http:// or https://`);
    this.root = url.toString().replace(/\/+$/, '').replace(/\/v1$/, '');
    this.endpoint = opts.model ? `${this.root} (${opts.model})` : this.root;
    this.limiter = new Limiter(opts.concurrency ?? 8);
    this.fetchFn = opts.fetch ?? fetch;
  }

  async chat(req: ChatRequest, opts?: CallOptions): Promise<ChatResult> {
    const t0 = performance.now();
    const body = await this.post('/v1/chat/completions', { ...req, model: req.model ?? this.opts.model ?? '' }, opts);
    return { ...parseChatResponse(body), latency_ms: performance.now() - t0 };
  }

  /**
   * A streamed chat completion (`stream: true`), folded into the same result as chat();
   * `onChunk` sees every chunk as it arrives. Retried only while no chunk has been delivered.
   */
  async streamChat(req: ChatRequest, onChunk?: (chunk: unknown) => void, opts?: CallOptions): Promise<ChatResult> {
    const t0 = performance.now();
    const body = { ...req, model: req.model ?? this.opts.model ?? '', stream: true, stream_options: { include_usage: true } };
    const url = `${this.root}/v1/chat/completions`;
    const folded = await this.limiter.run(() =>
      withRetries(
        `POST ${url} (stream)`,
        this.opts.retry ?? {},
        async (signal) => {
          const res = await this.fetchFn(url, { method: 'POST', signal, headers: this.headers(), body: JSON.stringify(body) });
          if (!res.ok || !res.body) throw httpError(`POST ${url}`, res, await res.text());
          const acc = new ChatStreamAccumulator();
          for await (const chunk of sseChunks(res.body)) {
            acc.push(chunk);
            onChunk?.(chunk);
          }
          return acc.result();
        },
        opts?.signal,
      ),
    );
    return { ...folded, latency_ms: performance.now() - t0 };
  }

  async complete(req: CompletionRequest, opts?: CallOptions): Promise<CompletionResult> {
    const t0 = performance.now();
    const body = (await this.post('/v1/completions', { ...req, model: req.model ?? this.opts.model ?? '' }, opts)) as {
      choices?: Array<{ text?: string; finish_reason?: string; logprobs?: CompletionResult['choices'][number]['logprobs'] }>;
      usage?: Usage;
    };
    if (!Array.isArray(body.choices)) throw new EndpointError(`POST ${this.root}/v1/completions: the response has no 'choices' list`, 200, false);
    return {
      choices: body.choices.map((c) => ({ text: c.text ?? '', finish_reason: c.finish_reason ?? '', logprobs: c.logprobs ?? null })),
      usage: usageOf(body.usage),
      latency_ms: performance.now() - t0,
    };
  }

  async embed(input: string[], opts?: CallOptions & { model?: string }): Promise<number[][]> {
    const body = (await this.post('/v1/embeddings', { model: opts?.model ?? this.opts.model ?? '', input, encoding_format: 'float' }, opts)) as {
      data?: Array<{ index: number; embedding: number[] }>;
    };
    if (!Array.isArray(body.data) || body.data.length !== input.length) {
      throw new EndpointError(`POST ${this.root}/v1/embeddings: expected ${input.length} embeddings in 'data'`, 200, false);
    }
    return [...body.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
  }

  async tokenize(text: string, opts?: CallOptions & { model?: string }): Promise<TokenizeResult> {
    const body = (await this.post('/tokenize', { model: opts?.model ?? this.opts.model ?? '', prompt: text, add_special_tokens: false, return_token_strs: true }, opts)) as {
      tokens?: number[];
      token_strs?: string[];
    };
    if (!Array.isArray(body.tokens)) throw new EndpointError(`POST ${this.root}/tokenize: the response has no 'tokens' list`, 200, false);
    return { ids: body.tokens, pieces: body.token_strs };
  }

  async models(opts?: CallOptions): Promise<ModelInfo[]> {
    const body = (await this.request('GET', '/v1/models', undefined, opts)) as { data?: Array<Record<string, unknown>> };
    return (body.data ?? []).map((m) => ({ id: String(m.id), max_model_len: typeof m.max_model_len === 'number' ? m.max_model_len : undefined, details: m }));
  }

  private headers(): Record<string, string> {
    return { 'content-type': 'application/json', ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}) };
  }

  private post(path: string, body: unknown, opts?: CallOptions): Promise<unknown> {
    return this.request('POST', path, body, opts);
  }

  private request(method: string, path: string, body: unknown, opts?: CallOptions): Promise<unknown> {
    const url = `${this.root}${path}`;
    const describe = `${method} ${url}`;
    return this.limiter.run(() =>
      withRetries(
        describe,
        this.opts.retry ?? {},
        async (signal) => {
          const res = await this.fetchFn(url, {
            method,
            signal,
            headers: this.headers(),
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const text = await res.text();
          if (!res.ok) throw httpError(describe, res, text);
          try {
            return JSON.parse(text) as unknown;
          } catch {
            throw new EndpointError(`${describe}: the response is not JSON: ${text.slice(0, 120)}`, res.status, false);
          }
        },
        opts?.signal,
      ),
    );
  }
}

function httpError(describe: string, res: Response, text: string): EndpointError & { retryAfterMs?: number } {
  let message = text.slice(0, 300);
  let field: string | undefined;
  try {
    const e = (JSON.parse(text) as { error?: { message?: string; param?: string | null } | string }).error;
    if (typeof e === 'string') message = e;
    else if (e?.message) {
      message = e.message;
      field = e.param ?? undefined;
    }
  } catch {
    // not JSON: keep the text
  }
  const err: EndpointError & { retryAfterMs?: number } = new EndpointError(
    `${describe}: ${res.status} ${res.statusText}${message ? `: ${message}` : ''}`,
    res.status,
    RETRIABLE_HTTP.has(res.status),
    field,
  );
  const ra = Number(res.headers.get('retry-after'));
  if (Number.isFinite(ra) && ra > 0) err.retryAfterMs = Math.min(ra * 1000, 30_000);
  return err;
}
