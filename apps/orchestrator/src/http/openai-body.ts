/*
 * OpenAI request bodies -> llm.inference.v1 GenerateRequests. The shape and every field's range
 * are checked by one zod schema per body (./schemas, whose rules are the gRPC path's too); this
 * file maps the checked body onto the requests and handles what the schemas cannot say on their
 * own (an empty prompt, top_logprobs without logprobs, best_of with stream). vLLM's extra sampling
 * fields are accepted too (top_k, min_p, repetition_penalty, min_tokens, ignore_eos,
 * stop_token_ids, skip_special_tokens), and so are its structured-output extras.
 *
 * Reference: OpenAI API /v1/completions and /v1/chat/completions; vLLM's OpenAI server.
 * What it is not: the chat template or the tools (openai-server.ts renders the messages).
 */
import type { inference } from '@llm/proto';
import type { ChatMessage } from '@llm/tokenizer';
import type { ToolFamily } from '../tools';
import { HttpError } from './errors';
import {
  chatRequestSchema,
  completionRequestSchema,
  parseWith,
  structuredOutputOf,
  toSamplingParams,
  traceOptionsOf,
  type BaseRequest,
  type ChatRequest,
  type CompletionRequest,
  type HttpStructuredOutput,
  type StructuredOutputBody,
  type TraceBody,
} from './schemas';

export interface ParsedBody {
  request: inference.GenerateRequest;
  stream: boolean;
  includeUsage: boolean;
  /** Completions' `logprobs` (int) or chat's `logprobs` (bool): whether to return them. */
  logprobs: boolean;
  /** The structured-output field, when one was given (response_format, guided_*, structured_outputs). */
  structured?: HttpStructuredOutput;
  /** Chat with tools: replies are parsed for calls in this family's format. */
  tools?: { family: ToolFamily };
  /** Completions with several prompts: one request per prompt (`request` is the first). */
  requests: inference.GenerateRequest[];
  /** Completions' echo: each choice's text starts with its prompt. */
  echo?: boolean;
}

function streamFlags(b: BaseRequest): { stream: boolean; includeUsage: boolean } {
  return { stream: b.stream ?? false, includeUsage: b.stream_options?.include_usage ?? false };
}

/** One prompt: a string or a list of token ids. */
function onePrompt(p: string | number[], field: string): { text: string; ids: number[] } {
  if (p.length === 0) throw new HttpError(400, `${field}: must not be empty`, field);
  return typeof p === 'string' ? { text: p, ids: [] } : { text: '', ids: p };
}

/** /v1/completions: prompt is a string, a list of token ids, or a list of several of either. */
export function parseCompletionBody(body: unknown): ParsedBody {
  const b: CompletionRequest = parseWith(completionRequestSchema, body);
  const raw = b.prompt;
  const several = Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === 'string' || Array.isArray(x));
  const prompts = several ? (raw as Array<string | number[]>).map((p, i) => onePrompt(p, `prompt[${i}]`)) : [onePrompt(raw as string | number[], 'prompt')];
  const lp = b.logprobs ?? undefined;
  const s = toSamplingParams(b, b.max_tokens, []);
  s.bestOf = b.best_of ?? undefined;
  if (lp !== undefined) {
    s.logprobs = true;
    s.topLogprobs = lp;
  }
  const echo = b.echo ?? false;
  if (echo && lp !== undefined) s.promptLogprobs = lp; // echo + logprobs: the prompt tokens are scored too
  const flags = streamFlags(b);
  if (flags.stream && (s.bestOf ?? 0) > (s.n ?? 1)) throw new HttpError(400, 'best_of: cannot be used with stream (the best samples are known only at the end)', 'best_of');
  const structured = structuredOutputOf(b);
  const trace = traceOf(b.trace, prompts.length);
  const requests = prompts.map((p) => baseRequest(b, p.text, p.ids, { ...s, stop: [...s.stop] }, structured, trace));
  return { request: requests[0], requests, echo, ...flags, logprobs: lp !== undefined, structured };
}

/** /v1/chat/completions, first half: the checked body and its messages (rendered and encoded by the caller). */
export function parseChatRequest(body: unknown): { body: ChatRequest; messages: ChatMessage[] } {
  const b = parseWith(chatRequestSchema, body);
  const messages = b.messages.map((m) => {
    const msg: ChatMessage = { role: m.role, content: typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text).join('') };
    if (m.tool_calls) msg.tool_calls = m.tool_calls;
    if (typeof m.tool_call_id === 'string') msg.tool_call_id = m.tool_call_id;
    return msg;
  });
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
  const structured = structuredOutputOf(b);
  const req = baseRequest(b, '', promptIds, s, structured, traceOf(b.trace, 1));
  return { request: req, requests: [req], ...streamFlags(b), logprobs: lp, structured };
}

/** The body's internals trace; a trace needs one prompt. */
function traceOf(t: TraceBody | null | undefined, numPrompts: number): inference.GenerateRequest['trace'] {
  const options = traceOptionsOf(t);
  if (options && numPrompts > 1) throw new HttpError(400, 'trace: needs one prompt (send the prompts as separate requests)', 'trace');
  return options;
}

function baseRequest(
  b: BaseRequest & StructuredOutputBody,
  prompt: string,
  ids: number[],
  s: inference.SamplingParams,
  structured: HttpStructuredOutput | undefined,
  trace: inference.GenerateRequest['trace'],
): inference.GenerateRequest {
  return { model: b.model ?? '', prompt, promptTokenIds: ids, sampling: s, requestId: '', cacheSalt: b.cache_salt ?? '', structuredOutput: structured?.message, trace };
}
