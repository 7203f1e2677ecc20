/*
 * /v1/embeddings and vLLM's /tokenize and /detokenize request bodies as zod 4 schemas.
 * Reference: OpenAI API embeddings; vLLM's OpenAI-compatible server (tokenize / detokenize).
 * What it is not: the handlers (http/extra-routes.ts).
 */
import { z } from 'zod';

const tokenId = z.number().int().min(0);

export const embeddingsBodySchema = z.object({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(z.string()).min(1), z.array(tokenId).min(1), z.array(z.array(tokenId).min(1)).min(1)], {
    error: 'must be a string, a list of strings, a list of token ids or a list of token-id lists',
  }),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().min(1).optional(),
  user: z.string().optional(),
});

export const tokenizeBodySchema = z.object({
  model: z.string().optional(),
  prompt: z.string({ error: 'must be a string' }),
  add_special_tokens: z.boolean().optional(),
  return_token_strs: z.boolean().optional(),
});

export const detokenizeBodySchema = z.object({
  model: z.string().optional(),
  tokens: z.array(tokenId, { error: 'must be a list of token ids' }),
});
