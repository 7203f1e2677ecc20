/*
 * OpenAI request bodies -> llm.inference.v1 GenerateRequest. Type checks name the OpenAI field
 * (`'temperature' must be a number, got "hot"`); range checks happen later in api/params.ts for
 * every transport alike. vLLM's extra sampling fields are accepted too (top_k, min_p,
 * repetition_penalty, min_tokens, ignore_eos, stop_token_ids, skip_special_tokens).
 *
 * Reference: OpenAI API /v1/completions and /v1/chat/completions; vLLM's OpenAI server.
 * What it is not: batch prompts (a list of several prompts is refused with a clear 400).
 */
import type { inference } from '@llm/proto';
import type { ChatMessage } from '@llm/tokenizer';
import { HttpError } from './errors';
import { z } from 'zod';
import { toolCallSchema, type ToolFamily } from '../tools';
import { structuredOutputOf, type HttpStructuredOutput } from './schemas/structured-output';
import { parseField } from './schemas/zod-error';

type Body = Record<string, unknown>;

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

export function parseJsonBody(raw: string): Body {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`, null);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object', null);
  return body as Body;
}

const bad = (field: string, want: string, v: unknown) => new HttpError(400, `'${field}' must be ${want}, got ${JSON.stringify(v)}`, field);

function num(b: Body, f: string): number | undefined {
  const v = b[f];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(f, 'a number', v);
  return v;
}

function int(b: Body, f: string): number | undefined {
  const v = num(b, f);
  if (v !== undefined && !Number.isInteger(v)) throw bad(f, 'an integer', v);
  return v;
}

function bool(b: Body, f: string): boolean | undefined {
  const v = b[f];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(f, 'true or false', v);
  return v;
}

function str(b: Body, f: string): string | undefined {
  const v = b[f];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(f, 'a string', v);
  return v;
}

function stops(b: Body): string[] {
  const v = b.stop;
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  throw bad('stop', 'a string or a list of strings', v);
}

function intList(b: Body, f: string): number[] {
  const v = b[f];
  if (v === undefined || v === null) return [];
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0)) return v as number[];
  throw bad(f, 'a list of non-negative integers', v);
}

function logitBias(b: Body): Record<number, number> {
  const v = b.logit_bias;
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('logit_bias', 'an object of token id -> bias', v);
  const out: Record<number, number> = {};
  for (const [k, x] of Object.entries(v as Body)) {
    if (!/^\d+$/.test(k) || typeof x !== 'number') throw bad('logit_bias', 'an object of token id -> number', v);
    out[Number(k)] = x;
  }
  return out;
}

function sampling(b: Body, maxTokens: number | undefined, extraStop: string[]): inference.SamplingParams {
  const topK = int(b, 'top_k');
  return {
    temperature: num(b, 'temperature'),
    topP: num(b, 'top_p'),
    topK: topK === -1 ? 0 : topK,
    minP: num(b, 'min_p'),
    repetitionPenalty: num(b, 'repetition_penalty'),
    presencePenalty: num(b, 'presence_penalty'),
    frequencyPenalty: num(b, 'frequency_penalty'),
    seed: int(b, 'seed'),
    stop: [...stops(b), ...extraStop],
    stopTokenIds: intList(b, 'stop_token_ids'),
    maxTokens,
    minTokens: int(b, 'min_tokens'),
    n: int(b, 'n'),
    topLogprobs: undefined,
    logprobs: false,
    ignoreEos: bool(b, 'ignore_eos') ?? false,
    logitBias: logitBias(b),
    skipSpecialTokens: bool(b, 'skip_special_tokens'),
    bestOf: int(b, 'best_of'),
  };
}

/** Fields that would change the reply but that this server does not implement: a 400 naming each. */
const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  suffix: (v) => v !== '',
  functions: () => true,
  function_call: () => true,
  prediction: () => true,
  audio: () => true,
  modalities: (v) => !(Array.isArray(v) && v.length === 1 && v[0] === 'text'),
  web_search_options: () => true,
  reasoning_effort: () => true,
};

export function refuseUnsupported(b: Body): void {
  for (const [field, changes] of Object.entries(UNSUPPORTED)) {
    const v = b[field];
    if (v !== undefined && v !== null && changes(v)) throw new HttpError(400, `'${field}' is not supported by this server${field === 'functions' || field === 'function_call' ? " (use 'tools' and 'tool_choice')" : ''}`, field);
  }
}

function streamFlags(b: Body): { stream: boolean; includeUsage: boolean } {
  const stream = bool(b, 'stream') ?? false;
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) throw bad('stream_options', 'an object', so);
  const includeUsage = so ? bool(so as Body, 'include_usage') ?? false : false;
  return { stream, includeUsage };
}

/** One prompt: a string or a list of token ids. */
function onePrompt(p: unknown, field: string): { text: string; ids: number[] } {
  if (typeof p === 'string' && p !== '') return { text: p, ids: [] };
  if (Array.isArray(p) && p.length > 0 && p.every((x) => Number.isInteger(x) && x >= 0)) return { text: '', ids: p as number[] };
  if (p === '' || (Array.isArray(p) && p.length === 0)) throw new HttpError(400, `'${field}' must not be empty`, field);
  throw bad(field, 'a string or a list of token ids', p);
}

/** /v1/completions: prompt is a string, a list of token ids, or a list of several of either. */
export function parseCompletionBody(b: Body): ParsedBody {
  refuseUnsupported(b);
  const raw = b.prompt;
  const several = Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === 'string' || Array.isArray(x));
  const prompts = several ? (raw as unknown[]).map((p, i) => onePrompt(p, `prompt[${i}]`)) : [onePrompt(raw, 'prompt')];
  const echo = bool(b, 'echo') ?? false;
  const lp = int(b, 'logprobs');
  if (lp !== undefined && (lp < 0 || lp > 20)) throw new HttpError(400, `'logprobs' must be an integer in [0, 20], got ${lp}`, 'logprobs');
  const s = sampling(b, int(b, 'max_tokens'), []);
  if (lp !== undefined) {
    s.logprobs = true;
    s.topLogprobs = lp;
  }
  if (echo && lp !== undefined) s.promptLogprobs = lp; // echo + logprobs: the prompt tokens are scored too
  const flags = streamFlags(b);
  if (flags.stream && (s.bestOf ?? 0) > (s.n ?? 1)) throw new HttpError(400, "'best_of' cannot be used with 'stream' (the best samples are known only at the end)", 'best_of');
  const requests = prompts.map((p) => baseRequest(b, p.text, p.ids, { ...s, stop: [...s.stop] }));
  return { request: requests[0], requests, echo, ...flags, logprobs: lp !== undefined, structured: structuredOutputOf(b) };
}

/** /v1/chat/completions: messages are rendered and encoded by the caller (chat-template.ts). */
export function parseChatMessages(b: Body): ChatMessage[] {
  const msgs = b.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) throw bad('messages', 'a non-empty list of {role, content}', msgs);
  return msgs.map((m, i) => {
    if (typeof m !== 'object' || m === null || typeof (m as Body).role !== 'string') throw bad(`messages[${i}].role`, 'a string', (m as Body)?.role);
    const msg: ChatMessage = { role: (m as Body).role as string, content: messageContent((m as Body).content, i) };
    const calls = (m as Body).tool_calls;
    if (calls !== undefined && calls !== null) msg.tool_calls = parseField(z.array(toolCallSchema), calls, `messages[${i}].tool_calls`);
    if (msg.role === 'tool') msg.tool_call_id = parseField(z.string({ error: 'must be the id of the call this answers' }), (m as Body).tool_call_id, `messages[${i}].tool_call_id`);
    return msg;
  });
}

function messageContent(c: unknown, i: number): string {
  if (typeof c === 'string') return c;
  if (c === null || c === undefined) return '';
  if (Array.isArray(c)) {
    return c
      .map((p, j) => {
        if (typeof p === 'object' && p !== null && (p as Body).type === 'text' && typeof (p as Body).text === 'string') return (p as Body).text as string;
        throw bad(`messages[${i}].content[${j}]`, 'a {"type": "text", "text": string} part (only text is supported)', p);
      })
      .join('');
  }
  throw bad(`messages[${i}].content`, 'a string or a list of text parts', c);
}

export function parseChatBody(b: Body, promptIds: number[], templateStop: string[]): ParsedBody {
  refuseUnsupported(b);
  if (b.best_of !== undefined && b.best_of !== null) throw new HttpError(400, "'best_of' is a /v1/completions field", 'best_of');
  if (b.echo !== undefined && b.echo !== null) throw new HttpError(400, "'echo' is a /v1/completions field", 'echo');
  const maxTokens = int(b, 'max_completion_tokens') ?? int(b, 'max_tokens');
  const s = sampling(b, maxTokens, templateStop);
  const lp = bool(b, 'logprobs') ?? false;
  const top = int(b, 'top_logprobs');
  if (top !== undefined && !lp) throw new HttpError(400, "'top_logprobs' needs 'logprobs': true", 'top_logprobs');
  if (lp) {
    s.logprobs = true;
    s.topLogprobs = top ?? 0;
  }
  const req = baseRequest(b, '', promptIds, s);
  return { request: req, requests: [req], ...streamFlags(b), logprobs: lp, structured: structuredOutputOf(b) };
}

function baseRequest(b: Body, prompt: string, ids: number[], s: inference.SamplingParams): inference.GenerateRequest {
  return { model: str(b, 'model') ?? '', prompt, promptTokenIds: ids, sampling: s, requestId: '', cacheSalt: str(b, 'cache_salt') ?? '', structuredOutput: structuredOutputOf(b)?.message, trace: undefined };
}
