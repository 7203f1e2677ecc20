/*
 * ModelClient over the platform's gRPC Inference API (llm.inference.v1), through an injected
 * transport. The harness is a pure library (no gRPC code), so `InferenceTransport` describes
 * the RPCs it calls in the shapes ts-proto generates for them; a nice-grpc client of
 * InferenceDefinition satisfies it as it is (the CLI connects one: apps/cli/src/harness).
 *
 *   complete  -> Complete (prompt text or token ids; sampling fields mapped 1:1; `echo` through
 *                SamplingParams.prompt_logprobs, rebuilt into OpenAI's echoed logprobs)
 *   tokenize  -> Tokenize (ids and the vocabulary's pieces)
 *   models    -> ListModels
 *   embed     -> Embed (little-endian float32 vectors), when the API has it
 *   chat      -> Chat (streamed content and tool-call deltas, folded), when the API has it;
 *                otherwise wrap this client in TemplateChatClient (the model's chat template)
 * RPCs and fields a platform lacks give one-line errors naming them.
 *
 * What it is not: a gRPC client; retries, deadlines and the concurrency limit are applied here
 * alike for every transport.
 * Reference: proto/llm/inference/v1/inference.proto.
 */
import { EndpointError, Limiter, type RetryPolicy, withRetries } from './retry';
import type { CallOptions, ChatRequest, ChatResult, CompletionLogprobs, CompletionRequest, CompletionResult, ModelClient, ModelInfo, TokenizeResult } from './types';

/** The fields of llm.inference.v1 messages this client reads or writes (ts-proto's camelCase). */
export interface GrpcSampling {
  /** Logprobs of every prompt token after the first (echo). */
  promptLogprobs?: number;
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
  /** With sampling.promptLogprobs: each prompt token's logprob after the first. */
  promptLogprobs?: GrpcTokenLogprob[];
}

export interface GrpcChatRequest {
  model?: string;
  messages: Array<{ role: string; content: string; toolCalls: Array<{ id: string; name: string; arguments: string }>; toolCallId: string }>;
  tools: Array<{ name: string; description: string; parametersJson: string }>;
  toolChoice?: string;
  toolChoiceFunction?: string;
  parallelToolCalls?: boolean;
  sampling?: GrpcSampling;
}

/** One streamed piece of a chat reply. */
export interface GrpcChatResponse {
  index: number;
  content: string;
  toolCalls: Array<{ index: number; id: string; name: string; arguments: string }>;
  finishReason: number;
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
  /** Embeddings (float32 little-endian bytes per input), where the Inference API has Embed. */
  embed?(req: { model?: string; input: string[] }, opts?: { signal?: AbortSignal }): Promise<{ data: Array<{ index: number; embeddingF32: Uint8Array }> }>;
  /** Chat with tools, where the Inference API has the Chat RPC. */
  chat?(req: GrpcChatRequest, opts?: { signal?: AbortSignal }): AsyncIterable<GrpcChatResponse>;
}

export interface GrpcClientOptions {
  /** host:port, for messages and reports. */
  address: string;
  model?: string;
  retry?: RetryPolicy;
  concurrency?: number;
}

/** FinishReason: 1 stop (EOS, stop id or string), 2 length, 3 abort, 4 tool calls. */
const FINISH = ['', 'stop', 'length', 'abort', 'tool_calls'];

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

  async chat(req: ChatRequest, opts?: CallOptions): Promise<ChatResult> {
    const chat = this.transport.chat?.bind(this.transport);
    if (!chat) {
      throw new EndpointError(`${this.endpoint}: this platform's gRPC Inference API has no Chat RPC; wrap the client in TemplateChatClient with the model's tokenizer_config.json`, 0, false);
    }
    const t0 = performance.now();
    const choice = req.tool_choice;
    const grpcReq: GrpcChatRequest = {
      model: req.model ?? this.opts.model ?? '',
      messages: req.messages.map((m) => ({
        role: m.role,
        content: m.content ?? '',
        toolCalls: (m.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
        toolCallId: m.tool_call_id ?? '',
      })),
      tools: (req.tools ?? []).map((t) => ({ name: t.function.name, description: t.function.description ?? '', parametersJson: JSON.stringify(t.function.parameters) })),
      toolChoice: typeof choice === 'string' ? choice : '',
      toolChoiceFunction: typeof choice === 'object' ? choice.function.name : '',
      parallelToolCalls: req.parallel_tool_calls,
      sampling: { temperature: req.temperature, topP: req.top_p, seed: req.seed, stop: req.stop ?? [], maxTokens: req.max_tokens },
    };
    const folded = await this.call(
      'Chat',
      async (signal) => {
        let content = '';
        const calls: Array<{ id: string; name: string; arguments: string }> = [];
        let finish = 0;
        let usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
        for await (const d of chat(grpcReq, { signal })) {
          if (d.index !== 0) continue;
          content += d.content;
          for (const t of d.toolCalls) {
            const slot = (calls[t.index] ??= { id: '', name: '', arguments: '' });
            if (t.id) slot.id = t.id;
            slot.name += t.name;
            slot.arguments += t.arguments;
          }
          if (d.finishReason) finish = d.finishReason;
          if (d.usage) usage = { prompt_tokens: d.usage.promptTokens, completion_tokens: d.usage.completionTokens, total_tokens: d.usage.promptTokens + d.usage.completionTokens };
        }
        return { content, calls: calls.filter(Boolean), finish, usage };
      },
      opts,
    );
    const message: ChatResult['message'] = { role: 'assistant', content: folded.calls.length > 0 && folded.content === '' ? null : folded.content };
    if (folded.calls.length > 0) message.tool_calls = folded.calls.map((c, i) => ({ id: c.id || `call_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    return { message, finish_reason: FINISH[folded.finish] ?? 'stop', usage: folded.usage, latency_ms: performance.now() - t0 };
  }

  async complete(req: CompletionRequest, opts?: CallOptions): Promise<CompletionResult> {
    if (req.echo && typeof req.prompt !== 'string') throw new EndpointError(`${this.endpoint}: 'echo' over gRPC needs a text prompt`, 0, false, 'echo');
    const t0 = performance.now();
    const sampling: GrpcSampling = {
      promptLogprobs: req.echo ? (req.logprobs ?? 0) : undefined,
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
    if (req.echo && prompt > 1 && !r.promptLogprobs?.length) {
      throw new EndpointError(`${this.endpoint}: the platform returned no prompt logprobs ('echo' needs SamplingParams.prompt_logprobs in its Inference API)`, 0, false, 'echo');
    }
    const echoed = req.echo ? (req.prompt as string) : '';
    return {
      choices: r.choices.map((c) => ({
        text: echoed + c.text,
        finish_reason: FINISH[c.finishReason] ?? 'stop',
        logprobs: req.logprobs !== undefined ? toLogprobs(c.logprobs, req.echo ? { text: echoed, after: r.promptLogprobs ?? [] } : undefined) : null,
      })),
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
      latency_ms: performance.now() - t0,
    };
  }

  async embed(input: string[], opts?: CallOptions & { model?: string }): Promise<number[][]> {
    const embed = this.transport.embed?.bind(this.transport);
    if (!embed) throw new EndpointError(`${this.endpoint}: this platform's gRPC Inference API has no Embed RPC yet (use the HTTP endpoint's /v1/embeddings)`, 0, false);
    const r = await this.call('Embed', (signal) => embed({ model: opts?.model ?? this.opts.model ?? '', input }, { signal }), opts);
    return [...r.data].sort((a, b) => a.index - b.index).map((d) => {
      const b = d.embeddingF32;
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return Array.from({ length: b.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true)); // little-endian float32
    });
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

/**
 * gRPC per-token logprobs in the OpenAI completions shape (text offsets from the token texts).
 * With echo, the prompt's tokens come first: the first one (which has no logprob) is the text the
 * later prompt tokens leave over at the start.
 */
function toLogprobs(lps: GrpcTokenLogprob[], echo?: { text: string; after: GrpcTokenLogprob[] }): CompletionLogprobs {
  let offset = 0;
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  if (echo) {
    const firstLen = echo.text.length - echo.after.reduce((n, lp) => n + lp.token.length, 0);
    out.tokens.push(echo.text.slice(0, Math.max(0, firstLen)));
    out.token_logprobs.push(null);
    out.top_logprobs!.push(null);
    out.text_offset.push(0);
    offset = Math.max(0, firstLen);
  }
  for (const lp of [...(echo?.after ?? []), ...lps]) {
    out.tokens.push(lp.token);
    out.token_logprobs.push(lp.logprob);
    out.top_logprobs!.push(Object.fromEntries(lp.topLogprobs.map((t) => [t.token, t.logprob])));
    out.text_offset.push(offset);
    offset += lp.token.length;
  }
  return out;
}
