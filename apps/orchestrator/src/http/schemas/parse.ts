/*
 * Runs a body schema and turns the first zod issue into an OpenAI-shaped 400 that names the
 * field: `temperature: must be a finite number <= 3.4e38, got 1e+308` with param `temperature`,
 * `messages[0].content: must be ...` with param `messages[0].content`.
 *
 * What it is not: JSON parsing (../body-reader.ts reads and parses the bytes safely first).
 */
import type { z } from 'zod';
import { HttpError } from '../errors';

/** `messages[0].content` from zod's ['messages', 0, 'content']. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** The value at `path` in `body` (undefined when any step is missing). */
function valueAt(body: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = body;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

export function parseWith<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = fieldPath(issue.path);
  // zod's issues do not carry the input: a missing field is told apart by looking it up.
  const message = issue.code === 'invalid_type' && valueAt(body, issue.path) === undefined ? 'is required' : issue.message;
  throw new HttpError(400, field ? `${field}: ${message}` : message, field || null);
}
