/*
 * zod -> OpenAI-shaped 400s: the first issue becomes `'<field path>' <message>` with the path as
 * the error's param (`response_format.json_schema.schema`). Shared by the schema files here.
 * What it is not: the schemas themselves.
 */
import type { z } from 'zod';
import { HttpError } from '../errors';

/** Parses `value` with `schema`; a failure is an HttpError 400 naming the field under `prefix`. */
export function parseField<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].filter(Boolean).join('.').replace(/\.\[/g, '[');
  throw new HttpError(400, `'${path}' ${issue.message}`, path);
}
