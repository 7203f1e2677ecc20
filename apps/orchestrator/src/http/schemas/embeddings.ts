/*
 * /v1/embeddings and vLLM's /tokenize and /detokenize request bodies as zod 4 schemas, built from
 * the same fields as the generation bodies (./fields: bounded strings and lists, token ids in
 * [0, 2^32), the model name's length), so every HTTP body is checked by one schema.
 * Reference: OpenAI API embeddings; vLLM's OpenAI-compatible server (tokenize / detokenize).
 * What it is not: the handlers (http/extra-routes.ts) or the prompt length limit (applied before
 * tokenizing, by the handlers).
 */
import { z } from 'zod';
import { TEXT_LIMITS } from '../../api/request-rules';
import { bool, boundedList, describe, text, tokenId } from './fields';

const INPUT_SHAPE = 'a string, a list of strings, a list of token ids or a list of token-id lists';

export const embeddingsRequestSchema = z.object({
  model: text(TEXT_LIMITS.modelChars).nullish(),
  input: z.union(
    [
      z.string(),
      boundedList(z.string(), TEXT_LIMITS.embeddingInputs, 'a list of strings').min(1),
      z.array(tokenId).min(1),
      boundedList(z.array(tokenId).min(1), TEXT_LIMITS.embeddingInputs, 'a list of token-id lists').min(1),
    ],
    { error: (iss) => `must be ${INPUT_SHAPE}, got ${describe(iss.input)}` },
  ),
  encoding_format: z.enum(['float', 'base64'], { error: "must be 'float' or 'base64'" }).nullish(),
  dimensions: z.number({ error: (iss) => `must be a number, got ${describe(iss.input)}` }).int({ error: 'must be an integer' }).min(1, { error: 'must be >= 1' }).nullish(),
  user: text(TEXT_LIMITS.requestIdChars).nullish(),
});

export const tokenizeRequestSchema = z.object({
  model: text(TEXT_LIMITS.modelChars).nullish(),
  prompt: z.string({ error: (iss) => `must be a string, got ${describe(iss.input)}` }),
  add_special_tokens: bool(),
  return_token_strs: bool(),
});

export const detokenizeRequestSchema = z.object({
  model: text(TEXT_LIMITS.modelChars).nullish(),
  tokens: z.array(tokenId, { error: (iss) => `must be a list of token ids, got ${describe(iss.input)}` }),
});

export type EmbeddingsRequest = z.output<typeof embeddingsRequestSchema>;
