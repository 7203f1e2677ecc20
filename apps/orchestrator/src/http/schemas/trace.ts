/*
 * The `trace` field of /v1/completions and /v1/chat/completions bodies (the internals trace), as a
 * zod 4 field the body schemas extend with, mapped onto llm.trace.v1.TraceOptions:
 *
 *   {"tokenizer": true, "attention": true | {"layers": [..], "heads": [..]}, "moe": true,
 *    "kv": true, "scheduler": true, "sampling": true | {"top": 5}}
 *
 * `true` means every layer and head, and 5 candidates; `false` or null means no trace. Unknown
 * keys are refused (a misspelled part would otherwise be silently missing). What it is not:
 * admission (trace/trace-request.ts checks the server policy, the model's layers and heads and the size).
 */
import type { trace } from '@llm/proto';
import { z } from 'zod';

const index = z.number({ error: 'must be a non-negative integer' }).int({ error: 'must be a non-negative integer' }).min(0, { error: 'must be a non-negative integer' });
const indexList = z.array(index, { error: 'must be a list of non-negative integers' }).max(4096);
const flag = z.boolean({ error: 'must be true or false' }).optional();

export const traceBodySchema = z.strictObject(
  {
    tokenizer: flag,
    attention: z.union([z.boolean(), z.strictObject({ layers: indexList.optional(), heads: indexList.optional() })], { error: 'must be true, false or {"layers": [...], "heads": [...]}' }).optional(),
    moe: flag,
    kv: flag,
    scheduler: flag,
    sampling: z.union([z.boolean(), z.strictObject({ top: z.number().int().min(1).max(20, { error: 'must be at most 20' }) })], { error: 'must be true, false or {"top": 1..20}' }).optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? `has unknown parts ${iss.keys.join(', ')} (known: tokenizer, attention, moe, kv, scheduler, sampling)` : 'must be an object of parts, e.g. {"attention": true, "kv": true}') },
);

/** The body field: the parts, or false / null / absent for none. */
export const traceField = z.preprocess((v) => (v === false ? null : v), traceBodySchema.nullish());

export type TraceBody = z.output<typeof traceBodySchema>;

/** A checked body's `trace` as TraceOptions; undefined when absent, null or false. */
export function traceOptionsOf(t: TraceBody | null | undefined): trace.TraceOptions | undefined {
  if (!t) return undefined;
  const attention = t.attention === true ? { layers: [], heads: [] } : t.attention ? { layers: t.attention.layers ?? [], heads: t.attention.heads ?? [] } : undefined;
  const sampling = t.sampling === true ? { top: 5 } : t.sampling ? { top: t.sampling.top } : undefined;
  return { tokenizer: t.tokenizer ?? false, attention, moe: t.moe ?? false, kv: t.kv ?? false, scheduler: t.scheduler ?? false, sampling };
}
