/*
 * POST /v1/chat/completions: the base body plus `messages` ({role, content} with content a
 * string, null, or a list of text parts), `max_tokens` / `max_completion_tokens`, `logprobs`
 * (bool) and `top_logprobs`. `chatMessageSchema` and `contentPartSchema` are exported so fields
 * such as tool calls can `.extend()` them.
 *
 * What it is not: the chat template (../chat-template.ts) or multimodal content.
 * Reference: OpenAI API /v1/chat/completions.
 */
import { z } from 'zod';
import { TEXT_LIMITS } from '../../api/request-rules';
import { bool, boundedList, describe, sampling, text } from './fields';
import { baseRequestSchema } from './base';

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
  },
  { error: (iss) => `must be a {role, content} object, got ${describe(iss.input)}` },
);

export const chatRequestSchema = baseRequestSchema.extend({
  messages: boundedList(chatMessageSchema, TEXT_LIMITS.chatMessages, 'a non-empty list of {role, content}').min(1, { error: 'must be a non-empty list of {role, content}' }),
  max_tokens: sampling('max_tokens'),
  max_completion_tokens: sampling('max_tokens'),
  logprobs: bool(),
  top_logprobs: sampling('top_logprobs'),
});

export type ChatMessageBody = z.infer<typeof chatMessageSchema>;
export type ChatRequest = z.infer<typeof chatRequestSchema>;
