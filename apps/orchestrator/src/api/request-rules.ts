/*
 * The rules every generation request must meet, in one place: the gRPC path (api/params.ts, on
 * llm.inference.v1 messages) and the HTTP path (http/schemas, zod refinements on OpenAI bodies)
 * both call these functions, so the two transports accept and refuse exactly the same values
 * with the same words (`must be a finite number <= 3.4e38, got 1e+308`).
 *
 * Numbers are checked against the wire type their proto field has: a `float` that a double
 * overflows (1e308 becomes Infinity on the wire) or a `uint32` past 2^32 - 1 is refused at the
 * edge, so the worker never sees a value it would reject for the whole batch. Strings and lists
 * have length bounds, so no field can make the server buffer, tokenize, log or echo an
 * unbounded value.
 *
 * What it is not: the request normalizer (params.ts) or the HTTP shape (http/schemas).
 */
import { MAX_TOP_LOGPROBS } from '@llm/model';

/** Largest finite float32 (the proto `float` fields' range). */
export const FLOAT32_MAX = 3.4028234663852886e38;
export const UINT32_MAX = 4294967295;
export const INT32_MAX = 2147483647;
/** A uint64 seed's range: [0, 2^64). */
export const UINT64_LIMIT = 2n ** 64n;

/** Bounds on strings and lists (characters are UTF-16 code units, as JavaScript counts them). */
export const TEXT_LIMITS = {
  /** model: ids are short names; a longer one cannot name a served model. */
  modelChars: 256,
  /** request_id: a caller's correlation id. */
  requestIdChars: 256,
  cacheSaltChars: 256,
  /** stop: how many strings, and how long each. */
  stopStrings: 64,
  stopChars: 1024,
  stopTokenIds: 1024,
  logitBiasEntries: 1024,
  /** Chat messages per request. */
  chatMessages: 4096,
  roleChars: 64,
  /** Inputs of one embeddings request (OpenAI's limit). */
  embeddingInputs: 2048,
  /** A tool call id or a tool result's tool_call_id. */
  toolCallIdChars: 256,
} as const;

/** A numeric field: its wire type and the range the platform accepts. */
export interface NumberRule {
  kind: 'float32' | 'int32' | 'uint32';
  min: number;
  max: number;
  /** The minimum itself is refused (top_p > 0). */
  minOpen?: boolean;
  /** Extra words after the range, e.g. '(0 or -1: off)'. */
  note?: string;
}

/** The sampling fields' rules, keyed by their snake_case names (proto and OpenAI agree). */
export const SAMPLING_RULES = {
  temperature: { kind: 'float32', min: 0, max: FLOAT32_MAX },
  top_p: { kind: 'float32', min: 0, max: 1, minOpen: true },
  top_k: { kind: 'int32', min: -1, max: INT32_MAX, note: '(0 or -1: off)' },
  min_p: { kind: 'float32', min: 0, max: 1 },
  repetition_penalty: { kind: 'float32', min: 0, max: FLOAT32_MAX, minOpen: true },
  presence_penalty: { kind: 'float32', min: -2, max: 2 },
  frequency_penalty: { kind: 'float32', min: -2, max: 2 },
  logit_bias: { kind: 'float32', min: -100, max: 100 },
  max_tokens: { kind: 'uint32', min: 1, max: UINT32_MAX },
  min_tokens: { kind: 'uint32', min: 0, max: UINT32_MAX },
  n: { kind: 'uint32', min: 1, max: UINT32_MAX },
  top_logprobs: { kind: 'uint32', min: 0, max: MAX_TOP_LOGPROBS },
  prompt_logprobs: { kind: 'uint32', min: 0, max: MAX_TOP_LOGPROBS },
  best_of: { kind: 'uint32', min: 1, max: UINT32_MAX },
} as const satisfies Record<string, NumberRule>;

export type SamplingRuleName = keyof typeof SAMPLING_RULES;

const show = (v: unknown): string => (typeof v === 'number' || typeof v === 'bigint' ? String(v) : typeof v === 'string' ? JSON.stringify(clip(v, 40)) : typeof v);

/** What is wrong with `v` under `rule` (null: nothing). `max` may be tightened by the caller (e.g. n <= max_n). */
export function numberProblem(rule: NumberRule, v: unknown, max = rule.max): string | null {
  if (typeof v !== 'number' || Number.isNaN(v)) return `must be a number, got ${show(v)}`;
  if (rule.kind === 'float32') {
    if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) return `must be a finite number <= 3.4e38, got ${v}`;
  } else if (!Number.isInteger(v)) return `must be an integer, got ${v}`;
  const low = rule.minOpen ? v <= rule.min : v < rule.min;
  if (low || v > max) {
    const range = rule.kind === 'float32' ? `${rule.minOpen ? '>' : '>='} ${rule.min} and <= ${max === FLOAT32_MAX ? '3.4e38' : max}` : `an integer in [${rule.min}, ${max}]`;
    return `must be ${range}${rule.note ? ` ${rule.note}` : ''}, got ${v}`;
  }
  return null;
}

/** What is wrong with a seed (a uint64, as a number or a decimal string); null: nothing. */
export function seedProblem(v: unknown): string | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? null : `must be an integer in [0, 2^64) (JSON numbers above 2^53 lose digits: send those as a decimal string), got ${v}`;
  if (typeof v === 'string') {
    if (!/^\d{1,20}$/.test(v) || BigInt(v) >= UINT64_LIMIT) return `must be an integer in [0, 2^64), got ${show(v)}`;
    return null;
  }
  return `must be an integer in [0, 2^64), got ${show(v)}`;
}

/** What is wrong with a string of at most `maxChars` characters; null: nothing. */
export function textProblem(v: unknown, maxChars: number, opts: { nonEmpty?: boolean } = {}): string | null {
  if (typeof v !== 'string') return `must be a string, got ${show(v)}`;
  if (v.length > maxChars) return `must be at most ${maxChars} characters, got ${v.length}`;
  if (opts.nonEmpty && v.length === 0) return 'must not be empty';
  return null;
}

/** A list bound; null: nothing. */
export function listProblem(length: number, max: number): string | null {
  return length > max ? `must have at most ${max} entries, got ${length}` : null;
}

/** A prompt's length bound, checked before tokenizing: null or what is wrong. */
export function promptCharsProblem(length: number, maxChars: number): string | null {
  return length > maxChars ? `has ${length} characters, more than the ${maxChars} this server tokenizes (--max-prompt-chars); it cannot fit the model's context` : null;
}

/** A caller's string shortened for an error message or a log line (never echo unbounded input). */
export function clip(s: string, max = 64): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length} characters)`;
}

/**
 * The deepest nesting of [ and { in JSON text, ignoring brackets inside strings; stops counting
 * once past `stopAbove` (the caller refuses the body then).
 */
export function jsonDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Deepest nesting accepted in JSON text carried by a string field (a gRPC json_schema or tool parameters), as for HTTP bodies. */
export const MAX_JSON_DEPTH = 64;

/** What is wrong with JSON text nested deeper than MAX_JSON_DEPTH (checked before parsing); null: nothing. */
export function jsonDepthProblem(text: string): string | null {
  return jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH ? `nests deeper than ${MAX_JSON_DEPTH} levels of arrays and objects` : null;
}
