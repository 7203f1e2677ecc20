/*
 * POST /v1/completions: the base body plus `prompt` (a string, a list of token ids, or a
 * one-element list of either), `max_tokens` and `logprobs` (how many alternatives, 0..20).
 *
 * What it is not: batch prompts (a list of several prompts is refused with a clear 400 by the
 * mapping in ../openai-body.ts).
 * Reference: OpenAI API /v1/completions.
 */
import { z } from 'zod';
import { describe, sampling, tokenId } from './fields';
import { baseRequestSchema } from './base';

const PROMPT_SHAPE = 'a string or a list of token ids';

/** A string, token ids, or a list of prompts (one is unwrapped; several are refused later with their own message). */
export const promptSchema = z.union([z.string(), z.array(tokenId), z.array(z.union([z.string(), z.array(tokenId)]))], {
  error: (iss) => `must be ${PROMPT_SHAPE}, got ${describe(iss.input)}`,
});

export const completionRequestSchema = baseRequestSchema.extend({
  prompt: promptSchema,
  max_tokens: sampling('max_tokens'),
  logprobs: sampling('top_logprobs'),
});

export type CompletionRequest = z.infer<typeof completionRequestSchema>;
