/*
 * A ModelClient that hands every call to another one: the base of clients that change only some
 * calls (TemplateChatClient renders chat over completions, CachedClient answers from the response
 * cache) and pass the rest through unchanged.
 * What it is not: a client of its own (it talks to nothing but `inner`).
 */
import type { CallOptions, ChatRequest, ChatResult, CompletionRequest, CompletionResult, ModelClient, ModelInfo, TokenizeResult } from './types';

export abstract class DelegatingClient implements ModelClient {
  readonly endpoint: string;

  protected constructor(
    protected readonly inner: ModelClient,
    endpoint = inner.endpoint,
  ) {
    this.endpoint = endpoint;
  }

  chat(req: ChatRequest, opts?: CallOptions): Promise<ChatResult> {
    return this.inner.chat(req, opts);
  }

  complete(req: CompletionRequest, opts?: CallOptions): Promise<CompletionResult> {
    return this.inner.complete(req, opts);
  }

  embed(input: string[], opts?: CallOptions & { model?: string }): Promise<number[][]> {
    return this.inner.embed(input, opts);
  }

  tokenize(text: string, opts?: CallOptions & { model?: string }): Promise<TokenizeResult> {
    return this.inner.tokenize(text, opts);
  }

  models(opts?: CallOptions): Promise<ModelInfo[]> {
    return this.inner.models(opts);
  }
}
