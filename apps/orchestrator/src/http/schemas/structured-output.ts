/*
 * The HTTP spellings of constrained decoding, as zod 4 schemas, mapped onto the gRPC
 * StructuredOutput oneof: OpenAI's `response_format` ({type: text | json_object | json_schema,
 * json_schema: {name, schema, strict}}), vLLM's `guided_json` / `guided_regex` / `guided_choice` /
 * `guided_grammar` extras and its newer `structured_outputs` object ({json | regex | choice |
 * grammar | json_object}). At most one may be given; which one is remembered so errors found
 * later (an unsupported schema keyword) name that field.
 *
 * What it is not: validation of the schema or grammar itself (api/structured-output.ts compiles it).
 */
import { z } from 'zod';
import type { inference } from '@llm/proto';
import { HttpError } from '../errors';
import { parseField } from './zod-error';

const schemaValue = z.union([z.record(z.string(), z.unknown()), z.boolean()], { error: 'must be a JSON Schema (an object)' });

export const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({ name: z.string().optional(), description: z.string().optional(), schema: schemaValue.optional(), strict: z.boolean().nullish() }, { error: 'must be {name, schema, strict}' }),
  }),
], { error: "must be {type: 'text' | 'json_object' | 'json_schema', ...}" });

export const structuredOutputsSchema = z
  .object({
    json: z.union([schemaValue, z.string()]).optional(),
    regex: z.string().optional(),
    choice: z.array(z.string()).min(1).optional(),
    grammar: z.string().optional(),
    json_object: z.boolean().optional(),
  })
  .strict();

export interface HttpStructuredOutput {
  message: inference.StructuredOutput;
  /** The HTTP field it came from (errors found later name it). */
  field: string;
}

const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** The one structured-output field of a completion or chat body, if any. */
export function structuredOutputOf(b: Record<string, unknown>): HttpStructuredOutput | undefined {
  const found: HttpStructuredOutput[] = [];
  const add = (field: string, message: inference.StructuredOutput) => found.push({ field, message });
  if (b.response_format !== undefined && b.response_format !== null) {
    const rf = parseField(responseFormatSchema, b.response_format, 'response_format');
    if (rf.type === 'json_object') add('response_format', { jsonObject: true });
    if (rf.type === 'json_schema') add('response_format.json_schema.schema', { jsonSchema: text(rf.json_schema.schema ?? {}) });
  }
  if (b.guided_json !== undefined && b.guided_json !== null) add('guided_json', { jsonSchema: text(parseField(z.union([schemaValue, z.string()]), b.guided_json, 'guided_json')) });
  if (b.guided_regex !== undefined && b.guided_regex !== null) add('guided_regex', { regex: parseField(z.string(), b.guided_regex, 'guided_regex') });
  if (b.guided_choice !== undefined && b.guided_choice !== null) add('guided_choice', { choice: { choices: parseField(z.array(z.string()).min(1), b.guided_choice, 'guided_choice') } });
  if (b.guided_grammar !== undefined && b.guided_grammar !== null) add('guided_grammar', { grammar: parseField(z.string(), b.guided_grammar, 'guided_grammar') });
  if (b.structured_outputs !== undefined && b.structured_outputs !== null) {
    const so = parseField(structuredOutputsSchema, b.structured_outputs, 'structured_outputs');
    const keys = Object.keys(so).filter((k) => so[k as keyof typeof so] !== undefined && so[k as keyof typeof so] !== false);
    if (keys.length !== 1) throw new HttpError(400, `'structured_outputs' must set exactly one of json, regex, choice, grammar, json_object (got ${keys.join(', ') || 'none'})`, 'structured_outputs');
    const k = keys[0];
    if (k === 'json') add('structured_outputs.json', { jsonSchema: text(so.json) });
    if (k === 'regex') add('structured_outputs.regex', { regex: so.regex as string });
    if (k === 'choice') add('structured_outputs.choice', { choice: { choices: so.choice as string[] } });
    if (k === 'grammar') add('structured_outputs.grammar', { grammar: so.grammar as string });
    if (k === 'json_object') add('structured_outputs.json_object', { jsonObject: true });
  }
  if (found.length > 1) throw new HttpError(400, `only one structured-output field may be given, got ${found.map((f) => f.field).join(' and ')}`, found[1].field);
  return found[0];
}

/** Rewrites an error param from the gRPC field (`structured_output.json_schema.properties.a`) to the HTTP one. */
export function httpGrammarParam(param: string | null, so: HttpStructuredOutput | undefined): string | null {
  if (!param || !so || !param.startsWith('structured_output')) return param;
  const rest = param.replace(/^structured_output\.[a-z_]+/, '');
  return `${so.field}${rest}`;
}
