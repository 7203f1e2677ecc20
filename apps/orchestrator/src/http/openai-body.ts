/*
 * OpenAI request bodies -> llm.inference.v1 GenerateRequest. The shape and every field's range
 * are checked by the zod schemas in ./schemas (which call the same rules as the gRPC path);
 * this file maps the checked body onto the request and handles what the schemas cannot say on
 * their own (several prompts, an empty prompt, top_logprobs without logprobs).
 *
 * Reference: OpenAI API /v1/completions and /v1/chat/completions; vLLM's OpenAI server.
 * What it is not: batch prompts (a list of several prompts is refused with a clear 400).
 */
import type { inference } from '@llm/proto';
import type { ChatMessage } from '@llm/tokenizer';
import { HttpError } from './errors';
import { chatRequestSchema, completionRequestSchema, parseWith, toSamplingParams, type BaseRequest, type ChatRequest, type CompletionRequest } from './schemas';

export interface ParsedBody {
  request: inference.GenerateRequest;
  stream: boolean;
  includeUsage: boolean;
  /** Completions' `logprobs` (int) or chat's `logprobs` (bool): whether to return them. */
  logprobs: boolean;
}

function streamFlags(b: BaseRequest): { stream: boolean; includeUsage: boolean } {
  return { stream: b.stream ?? false, includeUsage: b.stream_options?.include_usage ?? false };
}

/** /v1/completions: prompt is a string or a list of token ids (or a one-element list of either). */
export function parseCompletionBody(body: unknown): ParsedBody {
  const b: CompletionRequest = parseWith(completionRequestSchema, body);
  let prompt: unknown = b.prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && (typeof prompt[0] === 'string' || Array.isArray(prompt[0]))) prompt = prompt[0];
  let text = '';
  let ids: number[] = [];
  if (typeof prompt === 'string') text = prompt;
  else if (Array.isArray(prompt) && prompt.every((x) => typeof x === 'number')) ids = prompt as number[];
  else throw new HttpError(400, 'prompt: holds several prompts; this server takes one prompt per request (send one request each)', 'prompt');
  if (text === '' && ids.length === 0) throw new HttpError(400, 'prompt: must not be empty', 'prompt');
  const s = toSamplingParams(b, b.max_tokens, []);
  if (b.logprobs !== undefined && b.logprobs !== null) {
    s.logprobs = true;
    s.topLogprobs = b.logprobs;
  }
  return { request: baseRequest(b, text, ids, s), ...streamFlags(b), logprobs: s.logprobs };
}

/** /v1/chat/completions, first half: the checked body and its messages (rendered and encoded by the caller). */
export function parseChatRequest(body: unknown): { body: ChatRequest; messages: ChatMessage[] } {
  const b = parseWith(chatRequestSchema, body);
  const messages = b.messages.map((m) => ({
    role: m.role,
    content: typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text).join(''),
  }));
  return { body: b, messages };
}

/** /v1/chat/completions, second half: the request for the rendered prompt's ids. */
export function parseChatBody(b: ChatRequest, promptIds: number[], templateStop: string[]): ParsedBody {
  const s = toSamplingParams(b, b.max_completion_tokens ?? b.max_tokens, templateStop);
  const lp = b.logprobs ?? false;
  const top = b.top_logprobs ?? undefined;
  if (top !== undefined && !lp) throw new HttpError(400, "top_logprobs: needs 'logprobs': true", 'top_logprobs');
  if (lp) {
    s.logprobs = true;
    s.topLogprobs = top ?? 0;
  }
  return { request: baseRequest(b, '', promptIds, s), ...streamFlags(b), logprobs: lp };
}

function baseRequest(b: BaseRequest, prompt: string, ids: number[], s: inference.SamplingParams): inference.GenerateRequest {
  return { model: b.model ?? '', prompt, promptTokenIds: ids, sampling: s, requestId: '', cacheSalt: b.cache_salt ?? '' };
}
