/*
 * What every generation body has besides sampling: the model, streaming flags, the prefix-cache
 * salt, OpenAI's `user`, and the OpenAI fields this server does not implement (each refused with
 * a 400 naming it, since ignoring it would change the reply silently). completion.ts and chat.ts
 * extend this object with their own fields and the shared pieces (structured output, trace).
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

/** A field this server does not implement: refused when `changes(value)` says it would change the reply. */
function unsupported(changes: (v: unknown) => boolean, hint = '') {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (v !== null && changes(v)) ctx.addIssue({ code: 'custom', message: `is not supported by this server${hint}` });
    })
    .optional();
}

const USE_TOOLS = " (use 'tools' and 'tool_choice')";

export const unsupportedFields = {
  suffix: unsupported((v) => v !== ''),
  functions: unsupported(() => true, USE_TOOLS),
  function_call: unsupported(() => true, USE_TOOLS),
  prediction: unsupported(() => true),
  audio: unsupported(() => true),
  modalities: unsupported((v) => !(Array.isArray(v) && v.length === 1 && v[0] === 'text')),
  web_search_options: unsupported(() => true),
  reasoning_effort: unsupported(() => true),
};

/** A field that belongs to another endpoint (`best_of` on chat): refused naming where it belongs. */
export function otherEndpoint(endpoint: string) {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (v !== null) ctx.addIssue({ code: 'custom', message: `is a ${endpoint} field` });
    })
    .optional();
}

export const baseRequestSchema = samplingFieldsSchema.extend({
  model: text(TEXT_LIMITS.modelChars).nullish(),
  stream: bool(),
  stream_options: streamOptionsSchema,
  cache_salt: text(TEXT_LIMITS.cacheSaltChars).nullish(),
  user: text(TEXT_LIMITS.requestIdChars).nullish(),
  ...unsupportedFields,
});

export type BaseRequest = z.infer<typeof baseRequestSchema>;
