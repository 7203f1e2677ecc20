/*
 * The model client interface every room of the harness talks to: chat (with tools), text
 * completions (with logprobs and echo), embeddings, tokenize and model listing. Requests and
 * results use the OpenAI API's field names (snake_case, as on the wire), so an OpenAI-compatible
 * endpoint takes them as they are and a trace reads like the API.
 *
 * What it is not: a transport. OpenAI HTTP (openai-http.ts), the gRPC Inference API through an
 * injected transport (grpc-inference.ts) and chat over completions with the model's own chat
 * template (template-chat.ts) implement it.
 * Reference: OpenAI API reference (chat completions, completions, embeddings).
 */

export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** A tool call as the API returns it: arguments are JSON text, exactly as the model wrote them. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: Role;
  content: string | null;
  tool_calls?: ToolCall[];
  /** `tool` messages: the call they answer. */
  tool_call_id?: string;
  name?: string;
}

/** A tool offered to the model (OpenAI `tools` entry). */
export interface ToolSpec {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/** Sampling fields shared by chat and completions. */
export interface SamplingFields {
  model?: string;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  stop?: string[];
  n?: number;
}

export interface ChatRequest extends SamplingFields {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: Record<string, unknown>;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatResult {
  /** The assistant message (content and/or tool_calls). */
  message: ChatMessage;
  finish_reason: string;
  usage: Usage;
  /** Wall time of the request, retries included. */
  latency_ms: number;
}

export interface CompletionRequest extends SamplingFields {
  /** Text, or token ids. */
  prompt: string | number[];
  /** Log-probabilities of the sampled tokens (and of this many alternatives). */
  logprobs?: number;
  /** Return the prompt in front of the completion (with its logprobs when `logprobs` is set). */
  echo?: boolean;
}

/** OpenAI completions' logprobs object: one entry per token. */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: Array<number | null>;
  top_logprobs?: Array<Record<string, number> | null>;
  text_offset: number[];
}

export interface CompletionChoice {
  text: string;
  finish_reason: string;
  logprobs?: CompletionLogprobs | null;
}

export interface CompletionResult {
  choices: CompletionChoice[];
  usage: Usage;
  latency_ms: number;
}

export interface ModelInfo {
  id: string;
  /** The context window, when the endpoint says. */
  max_model_len?: number;
  /** Everything else the endpoint returned. */
  details?: Record<string, unknown>;
}

export interface TokenizeResult {
  ids: number[];
  /** The tokens' spellings in the vocabulary (BPE pieces), when the endpoint gives them. */
  pieces?: string[];
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ModelClient {
  /** What this client talks to (shown in reports; part of response-cache keys). */
  readonly endpoint: string;
  chat(req: ChatRequest, opts?: CallOptions): Promise<ChatResult>;
  complete(req: CompletionRequest, opts?: CallOptions): Promise<CompletionResult>;
  embed(input: string[], opts?: CallOptions & { model?: string }): Promise<number[][]>;
  tokenize(text: string, opts?: CallOptions & { model?: string }): Promise<TokenizeResult>;
  models(opts?: CallOptions): Promise<ModelInfo[]>;
}

export const emptyUsage = (): Usage => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
