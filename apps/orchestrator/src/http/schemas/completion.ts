/*
 * POST /v1/completions: the base body plus `prompt` (a string, a list of token ids, or a list of
 * several of either: one request each, choice index = prompt index * n + sample index),
 * `max_tokens`, `logprobs` (how many alternatives, 0..20), `echo`, `best_of`, the structured-output
 * fields and the internals `trace`.
 *
 * What it is not: the mapping onto GenerateRequests (../openai-body.ts) or the answer (../multi-prompt.ts).
 * Reference: OpenAI API /v1/completions; vLLM's OpenAI server (structured-output extras).
 */
import { z } from 'zod';
import { bool, describe, sampling, tokenId } from './fields';
import { baseRequestSchema } from './base';
import { structuredOutputFields } from './structured-output';
import { traceField } from './trace';

const PROMPT_SHAPE = 'a string or a list of token ids';

/** A string, token ids, or a list of prompts (each a string or token ids). */
export const promptSchema = z.union([z.string(), z.array(tokenId), z.array(z.union([z.string(), z.array(tokenId)]))], {
  error: (iss) => `must be ${PROMPT_SHAPE}, got ${describe(iss.input)}`,
});

export const completionRequestSchema = baseRequestSchema.extend({
  prompt: promptSchema,
  max_tokens: sampling('max_tokens'),
  logprobs: sampling('top_logprobs'),
  echo: bool(),
  best_of: sampling('best_of'),
  ...structuredOutputFields,
  trace: traceField,
});

export type CompletionRequest = z.infer<typeof completionRequestSchema>;
