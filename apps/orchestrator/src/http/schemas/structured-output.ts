/*
 * The HTTP spellings of constrained decoding as zod 4 fields that the completion and chat body
 * schemas extend with (one schema per body), and their mapping onto the gRPC StructuredOutput
 * oneof: OpenAI's `response_format` ({type: text | json_object | json_schema, json_schema: {name,
 * schema, strict}}), vLLM's `guided_json` / `guided_regex` / `guided_choice` / `guided_grammar`
 * extras and its newer `structured_outputs` object ({json | regex | choice | grammar |
 * json_object}). At most one may be given; which one is remembered so errors found later (an
 * unsupported schema keyword) name that field.
 *
 * What it is not: validation of the schema or grammar itself (api/structured-output.ts compiles it).
 */
import { z } from 'zod';
import type { inference } from '@llm/proto';
import { HttpError } from '../errors';
import { bool, describe } from './fields';

const schemaValue = z.union([z.record(z.string(), z.unknown()), z.boolean()], { error: 'must be a JSON Schema (an object)' });
const str = z.string({ error: (iss) => `must be a string, got ${describe(iss.input)}` });
const choices = z.array(str, { error: (iss) => `must be a non-empty list of strings, got ${describe(iss.input)}` }).min(1, { error: 'must be a non-empty list of strings' });

export const responseFormatSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      json_schema: z.object({ name: str.optional(), description: str.optional(), schema: schemaValue.optional(), strict: bool() }, { error: 'must be {name, schema, strict}' }),
    }),
  ],
  { error: "must be {type: 'text' | 'json_object' | 'json_schema', ...}" },
);

const STRUCTURED_KEYS = ['json', 'regex', 'choice', 'grammar', 'json_object'] as const;

export const structuredOutputsSchema = z
  .object({
    json: z.union([schemaValue, z.string()], { error: 'must be a JSON Schema (an object or its JSON text)' }).optional(),
    regex: str.optional(),
    choice: choices.optional(),
    grammar: str.optional(),
    json_object: z.boolean({ error: 'must be true or false' }).optional(),
  }, { error: (iss) => `must be an object, got ${describe(iss.input)}` })
  .strict()
  .superRefine((so, ctx) => {
    const keys = STRUCTURED_KEYS.filter((k) => so[k] !== undefined && so[k] !== false);
    if (keys.length !== 1) ctx.addIssue({ code: 'custom', message: `must set exactly one of ${STRUCTURED_KEYS.join(', ')} (got ${keys.join(', ') || 'none'})` });
  });

/** The structured-output fields a generation body may carry (extend a body schema with them). */
export const structuredOutputFields = {
  response_format: responseFormatSchema.nullish(),
  guided_json: z.union([schemaValue, z.string()], { error: 'must be a JSON Schema (an object or its JSON text)' }).nullish(),
  guided_regex: str.nullish(),
  guided_choice: choices.nullish(),
  guided_grammar: str.nullish(),
  structured_outputs: structuredOutputsSchema.nullish(),
};

/** The structured-output fields alone, as checked values. */
export const structuredOutputSchema = z.object(structuredOutputFields);
export type StructuredOutputBody = z.output<typeof structuredOutputSchema>;

export interface HttpStructuredOutput {
  message: inference.StructuredOutput;
  /** The HTTP field it came from (errors found later name it). */
  field: string;
}

const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** The one structured-output field of a checked completion or chat body, if any. */
export function structuredOutputOf(b: StructuredOutputBody): HttpStructuredOutput | undefined {
  const found: HttpStructuredOutput[] = [];
  const add = (field: string, message: inference.StructuredOutput) => found.push({ field, message });
  const rf = b.response_format;
  if (rf?.type === 'json_object') add('response_format', { jsonObject: true });
  if (rf?.type === 'json_schema') add('response_format.json_schema.schema', { jsonSchema: text(rf.json_schema.schema ?? {}) });
  if (b.guided_json !== undefined && b.guided_json !== null) add('guided_json', { jsonSchema: text(b.guided_json) });
  if (b.guided_regex !== undefined && b.guided_regex !== null) add('guided_regex', { regex: b.guided_regex });
  if (b.guided_choice !== undefined && b.guided_choice !== null) add('guided_choice', { choice: { choices: b.guided_choice } });
  if (b.guided_grammar !== undefined && b.guided_grammar !== null) add('guided_grammar', { grammar: b.guided_grammar });
  const so = b.structured_outputs;
  if (so) {
    if (so.json !== undefined) add('structured_outputs.json', { jsonSchema: text(so.json) });
    else if (so.regex !== undefined) add('structured_outputs.regex', { regex: so.regex });
    else if (so.choice !== undefined) add('structured_outputs.choice', { choice: { choices: so.choice } });
    else if (so.grammar !== undefined) add('structured_outputs.grammar', { grammar: so.grammar });
    else add('structured_outputs.json_object', { jsonObject: true });
  }
  if (found.length > 1) throw new HttpError(400, `${found[1].field}: only one structured-output field may be given, got ${found.map((f) => f.field).join(' and ')}`, found[1].field);
  return found[0];
}

/** Rewrites an error param from the gRPC field (`structured_output.json_schema.properties.a`) to the HTTP one. */
export function httpGrammarParam(param: string | null, so: HttpStructuredOutput | undefined): string | null {
  if (!param || !so || !param.startsWith('structured_output')) return param;
  const rest = param.replace(/^structured_output\.[a-z_]+/, '');
  return `${so.field}${rest}`;
}
