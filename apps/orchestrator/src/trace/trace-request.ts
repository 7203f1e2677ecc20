/*
 * Admission of an internals trace: a request's llm.trace.v1.TraceOptions -> the plain TraceRequest
 * the scheduler and the worker act on (it travels with the request through BullMQ), or
 * INVALID_ARGUMENT naming the field: tracing off on this server (`--allow-trace`), n > 1, an
 * embedding, a layer or head outside the model, a candidate count outside 1..20, or a trace whose
 * estimated size passes the server's limit (`--max-trace-bytes`).
 *
 * What it is not: the recording (trace-collector.ts) or the HTTP body (http/schemas/trace.ts).
 */
import { invalidArgument } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { ModelFacts } from '../api/model-facts';
import type { NormalizedRequest } from '../api/params';
import { estimateTraceBytes } from './trace-size';

/** What a request's trace records (resolved lists, no proto types: it is JSON in the queue). */
export interface TraceRequest {
  tokenizer: boolean;
  /** Layers and query heads of the attention rows (explicit, ascending); absent: none. */
  attention?: { layers: number[]; heads: number[] };
  moe: boolean;
  kv: boolean;
  scheduler: boolean;
  /** Candidates per sampled token (0: none). */
  samplingTop: number;
  /** The prompt as text, for the tokenizer part. */
  promptText: string;
  /** The server's limit, for the runtime bound on pool maps. */
  maxBytes: number;
}

/** The server's tracing policy. */
export interface TracePolicy {
  allow: boolean;
  maxBytes: number;
}

export const MAX_TRACE_TOP = 20;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The trace of a validated request, or undefined when it asks for none. */
export function traceRequestOf(req: inference.GenerateRequest, norm: NormalizedRequest, facts: ModelFacts, policy: TracePolicy | undefined): TraceRequest | undefined {
  const t = req.trace;
  if (!t) return undefined;
  if (!policy?.allow) throw invalidArgument('trace', 'tracing is off on this server (start it with --allow-trace, LLM_ALLOW_TRACE=true)');
  if (norm.n !== 1) throw invalidArgument('trace', `needs n = 1 (one sample), got n = ${norm.n}`);
  if (norm.embedPooling) throw invalidArgument('trace', 'is for generation requests, not embeddings');
  const layers = [...new Set(t.attention?.layers ?? [])].sort((a, b) => a - b);
  const heads = [...new Set(t.attention?.heads ?? [])].sort((a, b) => a - b);
  for (const l of layers) if (!Number.isInteger(l) || l >= facts.numLayers) throw invalidArgument('trace.attention.layers', `has ${l}; the model's layers are 0..${facts.numLayers - 1}`);
  for (const h of heads) if (!Number.isInteger(h) || h >= facts.numHeads) throw invalidArgument('trace.attention.heads', `has ${h}; the model's query heads are 0..${facts.numHeads - 1}`);
  const top = t.sampling ? t.sampling.top : 0;
  if (t.sampling && (!Number.isInteger(top) || top < 1 || top > MAX_TRACE_TOP)) throw invalidArgument('trace.sampling.top', `must be an integer in [1, ${MAX_TRACE_TOP}], got ${top}`);
  const trace: TraceRequest = {
    tokenizer: t.tokenizer,
    attention: t.attention ? { layers: layers.length > 0 ? layers : range(facts.numLayers), heads: heads.length > 0 ? heads : range(facts.numHeads) } : undefined,
    moe: t.moe && facts.numExperts > 0, // a dense model has no routing to record (model.num_experts = 0 says so)
    kv: t.kv,
    scheduler: t.scheduler,
    samplingTop: top,
    promptText: req.prompt || facts.tokenizer.decode(norm.promptIds, { skipSpecialTokens: false }),
    maxBytes: policy.maxBytes,
  };
  const size = estimateTraceBytes(trace, norm.promptIds.length, norm.rules.maxTokens, facts);
  if (size.total > policy.maxBytes) {
    throw invalidArgument(
      'trace',
      `would be about ${mib(size.total)} (${size.largest.part}: ${mib(size.largest.bytes)}), more than this server's limit of ${mib(policy.maxBytes)} (--max-trace-bytes); ` +
        'select fewer attention layers or heads, or shorten the prompt or max_tokens',
    );
  }
  return trace;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
