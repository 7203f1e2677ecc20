/*
 * What every generation body has besides sampling: the model, streaming flags, the prefix-cache
 * salt and OpenAI's `user`. completion.ts and chat.ts extend this object; later fields
 * (structured output, tools, ...) extend those in turn.
 *
 * What it is not: endpoint-specific fields (prompt, messages, max_tokens, logprobs).
 * Reference: OpenAI API reference (stream, stream_options.include_usage, user).
 */
import { z } from 'zod';
import { TEXT_LIMITS } from '../../api/request-rules';
import { bool, describe, text } from './fields';
import { samplingFieldsSchema } from './sampling';

export const streamOptionsSchema = z
  .object({ include_usage: bool() }, { error: (iss) => `must be an object, got ${describe(iss.input)}` })
  .nullish();

export const baseRequestSchema = samplingFieldsSchema.extend({
  model: text(TEXT_LIMITS.modelChars).nullish(),
  stream: bool(),
  stream_options: streamOptionsSchema,
  cache_salt: text(TEXT_LIMITS.cacheSaltChars).nullish(),
  user: text(TEXT_LIMITS.requestIdChars).nullish(),
});

export type BaseRequest = z.infer<typeof baseRequestSchema>;
