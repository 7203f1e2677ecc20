/*
 * POST /v1/chat/completions: the base body plus `messages` ({role, content} with content a
 * string, null, or a list of text parts; assistant `tool_calls`; a `tool` message's
 * `tool_call_id`), `max_tokens` / `max_completion_tokens`, `logprobs` (bool) and `top_logprobs`,
 * the tool fields, the structured-output fields and the internals `trace`. `chatMessageSchema` and
 * `contentPartSchema` are exported so further fields can `.extend()` them.
 *
 * What it is not: the chat template (../chat-template.ts) or multimodal content.
 * Reference: OpenAI API /v1/chat/completions (function calling included).
 */
import { z } from 'zod';
import { TEXT_LIMITS } from '../../api/request-rules';
import { toolCallSchema } from '../../tools';
import { bool, boundedList, describe, sampling, text } from './fields';
import { baseRequestSchema, otherEndpoint } from './base';
import { structuredOutputFields } from './structured-output';
import { toolFields } from './tools';
import { traceField } from './trace';

export const contentPartSchema = z.object(
  { type: z.literal('text', { error: 'only {"type": "text"} parts are supported' }), text: z.string({ error: 'must be a string' }) },
  { error: (iss) => `must be a {"type": "text", "text": string} part, got ${describe(iss.input)}` },
);

export const chatMessageSchema = z.object(
  {
    role: text(TEXT_LIMITS.roleChars),
    content: z
      .union([z.string(), z.array(contentPartSchema)], { error: (iss) => `must be a string or a list of text parts, got ${describe(iss.input)}` })
      .nullish(),
    tool_calls: z.array(toolCallSchema, { error: (iss) => `must be a list of tool calls, got ${describe(iss.input)}` }).nullish(),
    tool_call_id: text(TEXT_LIMITS.toolCallIdChars).nullish(),
  },
  { error: (iss) => `must be a {role, content} object, got ${describe(iss.input)}` },
);

/** The messages list: bounded, non-empty, and every `tool` message names the call it answers. */
const messagesSchema = boundedList(chatMessageSchema, TEXT_LIMITS.chatMessages, 'a non-empty list of {role, content}')
  .min(1, { error: 'must be a non-empty list of {role, content}' })
  .superRefine((msgs, ctx) => {
    msgs.forEach((m, i) => {
      if (m.role === 'tool' && typeof m.tool_call_id !== 'string') ctx.addIssue({ code: 'custom', path: [i, 'tool_call_id'], message: 'must be the id of the call this answers' });
    });
  });

export const chatRequestSchema = baseRequestSchema.extend({
  messages: messagesSchema,
  max_tokens: sampling('max_tokens'),
  max_completion_tokens: sampling('max_tokens'),
  logprobs: bool(),
  top_logprobs: sampling('top_logprobs'),
  best_of: otherEndpoint('/v1/completions'),
  echo: otherEndpoint('/v1/completions'),
  ...toolFields,
  ...structuredOutputFields,
  trace: traceField,
});

export type ChatMessageBody = z.infer<typeof chatMessageSchema>;
export type ChatRequest = z.infer<typeof chatRequestSchema>;
