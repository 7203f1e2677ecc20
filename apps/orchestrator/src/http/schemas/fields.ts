/*
 * zod building blocks for the OpenAI request bodies. Each field's rule comes from
 * api/request-rules.ts (the rules the gRPC path checks too), so an HTTP body and the equivalent
 * GenerateRequest are accepted or refused alike, with the same words. Every field is nullish:
 * the OpenAI SDKs send `null` for "not set".
 *
 * What it is not: a schema of a whole body (base.ts, completion.ts, chat.ts compose these).
 * Follows zod 4's API (z.number, z.union, superRefine).
 */
import { z } from 'zod';
import { numberProblem, SAMPLING_RULES, seedProblem, listProblem, textProblem, UINT32_MAX, type NumberRule } from '../../api/request-rules';

/** Adds a custom issue when `problem(v)` returns a reason. */
function refineWith<T>(problem: (v: T) => string | null) {
  return (v: T, ctx: z.RefinementCtx) => {
    const p = problem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  };
}

/** A number under a sampling rule (float32 or integer range). */
export function ruled(rule: NumberRule) {
  return z.number({ error: (iss) => `must be a number, got ${describe(iss.input)}` }).superRefine(refineWith((v: number) => numberProblem(rule, v)));
}

/** A sampling field by name, nullish. */
export const sampling = (name: keyof typeof SAMPLING_RULES) => ruled(SAMPLING_RULES[name]).nullish();

export const bool = () => z.boolean({ error: (iss) => `must be true or false, got ${describe(iss.input)}` }).nullish();

/** A string of at most `maxChars` characters. */
export const text = (maxChars: number) =>
  z.string({ error: (iss) => `must be a string, got ${describe(iss.input)}` }).superRefine(refineWith((v: string) => textProblem(v, maxChars)));

/** A token id: an integer in [0, 2^32) (the vocabulary check comes later, against the served model). */
export const tokenId = z.number({ error: (iss) => `must be a token id, got ${describe(iss.input)}` }).int({ error: 'must be an integer token id' }).min(0, { error: 'must be >= 0' }).max(UINT32_MAX, { error: `must be <= ${UINT32_MAX}` });

/** A list with at most `max` entries. */
export function boundedList<T extends z.ZodType>(item: T, max: number, what: string) {
  return z.array(item, { error: (iss) => `must be ${what}, got ${describe(iss.input)}` }).superRefine(refineWith((v: unknown[]) => listProblem(v.length, max)));
}

/** A uint64 seed: a JSON integer below 2^53, or a decimal string for any uint64. */
export const seed = z.union([z.number(), z.string()], { error: (iss) => `must be an integer in [0, 2^64), got ${describe(iss.input)}` }).superRefine(refineWith(seedProblem)).nullish();

/** A short description of a value for an error message (never the value itself when it is big or deep). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  return String(v);
}
