/*
 * ModelClient over the platform's gRPC Inference API (llm.inference.v1), through an injected
 * transport. The harness is a pure library (no gRPC code), so `InferenceTransport` describes
 * the RPCs it calls in the shapes ts-proto generates for them; a nice-grpc client of
 * InferenceDefinition satisfies it as it is (the CLI connects one: apps/cli/src/harness).
 *
 *   complete  -> Complete (prompt text or token ids; sampling fields mapped 1:1)
 *   tokenize  -> Tokenize (ids and the vocabulary's pieces)
 *   models    -> ListModels
 *   embed     -> Embed, when the transport has it (the platform's API does not yet)
 *   chat      -> not an RPC: wrap this client in TemplateChatClient (the model's chat template)
 *
 * What it is not: a gRPC client; retries, deadlines and the concurrency limit are applied here
 * alike for every transport.
 * Reference: proto/llm/inference/v1/inference.proto.
 */
import { EndpointError, Limiter, type RetryPolicy, withRetries } from './retry';
import type { CallOptions, ChatRequest, ChatResult, CompletionLogprobs, CompletionRequest, CompletionResult, ModelClient, ModelInfo, TokenizeResult } from './types';

/** The fields of llm.inference.v1 messages this client reads or writes (ts-proto's camelCase). */
export interface GrpcSampling {
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  maxTokens?: number;
  n?: number;
  logprobs?: boolean;
  topLogprobs?: number;
}

export interface GrpcCompleteRequest {
  model?: string;
  prompt?: string;
  promptTokenIds?: number[];
  sampling?: GrpcSampling;
}

export interface GrpcTokenLogprob {
  tokenId: number;
  token: string;
  logprob: number;
  topLogprobs: Array<{ tokenId: number; token: string; logprob: number }>;
}

/** FinishReason enum values: 1 stop (EOS or stop id), 2 length, 3 stop string, 4 abort. */
export interface GrpcCompleteResponse {
  choices: Array<{ index: number; text: string; tokenIds: number[]; logprobs: GrpcTokenLogprob[]; finishReason: number; stopReason: string }>;
  usage?: { promptTokens: number; completionTokens: number };
}

export interface GrpcModelInfo {
  model: string;
  architecture: string;
  vocabSize: number;
  maxContextTokens: number;
  hasChatTemplate: boolean;
}

export interface InferenceTransport {
  complete(req: GrpcCompleteRequest, opts?: { signal?: AbortSignal }): Promise<GrpcCompleteResponse>;
  tokenize(req: { model?: string; text?: string; addSpecialTokens?: boolean }, opts?: { signal?: AbortSignal }): Promise<{ tokenIds: number[]; tokens: string[] }>;
  listModels(req: object, opts?: { signal?: AbortSignal }): Promise<{ models: GrpcModelInfo[] }>;
  /** Embeddings, once the Inference API has an Embed RPC. */
  embed?(req: { model?: string; input: string[] }, opts?: { signal?: AbortSignal }): Promise<{ embeddings: number[][] }>;
}

export interface GrpcClientOptions {
  /** host:port, for messages and reports. */
  address: string;
  model?: string;
  retry?: RetryPolicy;
  concurrency?: number;
}

const FINISH = ['', 'stop', 'length', 'stop', 'abort'];

export class GrpcInferenceClient implements ModelClient {
  readonly endpoint: string;
  private readonly limiter: Limiter;

  constructor(
    private readonly transport: InferenceTransport,
    private readonly opts: GrpcClientOptions,
  ) {
    this.endpoint = `grpc://${opts.address}${opts.model ? ` (${opts.model})` : ''}`;
    this.limiter = new Limiter(opts.concurrency ?? 8);
  }

  chat(_req: ChatRequest): Promise<ChatResult> {
    return Promise.reject(
      new EndpointError(`${this.endpoint}: the gRPC Inference API has no chat RPC; wrap the client in TemplateChatClient with the model's tokenizer_config.json`, 0, false),
    );
  }

  async complete(req: CompletionRequest, opts?: CallOptions): Promise<CompletionResult> {
    if (req.echo) throw new EndpointError(`${this.endpoint}: 'echo' (prompt logprobs) is not in the gRPC Inference API yet`, 0, false, 'echo');
    const t0 = performance.now();
    const sampling: GrpcSampling = {
      temperature: req.temperature,
      topP: req.top_p,
      seed: req.seed,
      stop: req.stop ?? [],
      maxTokens: req.max_tokens,
      n: req.n,
      logprobs: req.logprobs !== undefined,
      topLogprobs: req.logprobs,
    };
    const r = await this.call('Complete', (signal) =>
      this.transport.complete(
        { model: req.model ?? this.opts.model ?? '', ...(typeof req.prompt === 'string' ? { prompt: req.prompt } : { promptTokenIds: req.prompt }), sampling },
        { signal },
      ),
    opts);
    const prompt = r.usage?.promptTokens ?? 0;
    const completion = r.usage?.completionTokens ?? 0;
    return {
      choices: r.choices.map((c) => ({ text: c.text, finish_reason: FINISH[c.finishReason] ?? 'stop', logprobs: req.logprobs !== undefined ? toLogprobs(c.logprobs) : null })),
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
      latency_ms: performance.now() - t0,
    };
  }

  async embed(input: string[], opts?: CallOptions & { model?: string }): Promise<number[][]> {
    const embed = this.transport.embed?.bind(this.transport);
    if (!embed) throw new EndpointError(`${this.endpoint}: this platform's gRPC Inference API has no Embed RPC yet (use the HTTP endpoint's /v1/embeddings)`, 0, false);
    const r = await this.call('Embed', (signal) => embed({ model: opts?.model ?? this.opts.model ?? '', input }, { signal }), opts);
    return r.embeddings;
  }

  async tokenize(text: string, opts?: CallOptions & { model?: string }): Promise<TokenizeResult> {
    const r = await this.call('Tokenize', (signal) => this.transport.tokenize({ model: opts?.model ?? this.opts.model ?? '', text, addSpecialTokens: false }, { signal }), opts);
    return { ids: r.tokenIds, pieces: r.tokens };
  }

  async models(opts?: CallOptions): Promise<ModelInfo[]> {
    const r = await this.call('ListModels', (signal) => this.transport.listModels({}, { signal }), opts);
    return r.models.map((m) => ({ id: m.model, max_model_len: m.maxContextTokens, details: { ...m } }));
  }

  private call<T>(rpc: string, fn: (signal: AbortSignal) => Promise<T>, opts?: CallOptions): Promise<T> {
    return this.limiter.run(() => withRetries(`${rpc} at ${this.opts.address}`, this.opts.retry ?? {}, fn, opts?.signal));
  }
}

/** gRPC per-token logprobs in the OpenAI completions shape (text offsets from the token texts). */
function toLogprobs(lps: GrpcTokenLogprob[]): CompletionLogprobs {
  let offset = 0;
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const lp of lps) {
    out.tokens.push(lp.token);
    out.token_logprobs.push(lp.logprob);
    out.top_logprobs!.push(Object.fromEntries(lp.topLogprobs.map((t) => [t.token, t.logprob])));
    out.text_offset.push(offset);
    offset += lp.token.length;
  }
  return out;
}
