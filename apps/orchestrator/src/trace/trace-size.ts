/*
 * How large a trace can get, in bytes of its JSON form (the larger of its two forms: proto carries
 * floats as 4 bytes, JSON as ~11 characters), estimated before the request runs so an oversized
 * trace is refused at admission rather than cut short. Upper bounds from the request's shape:
 *
 *   positions N = prompt P + max_tokens G
 *   attention  |layers| |heads| N (N + 1) / 2 floats, plus a header per row
 *   moe        N x layers x (E gate probabilities + k experts, weights, replicas)
 *   kv         one step per position at most: the block table plus a pool map (POOL_RUNS_ESTIMATE runs)
 *   scheduler  one step per position at most, a batch of up to max_num_seqs entries (estimated 8)
 *   sampling   G x top x 2 lists of candidates
 *   tokenizer  the prompt text x ~ merges per character
 *
 * What it is not: exact. The pool map depends on other requests; the collector bounds it at run
 * time (KV_POOL_RUNS_MAX runs a step, none once the limit is reached).
 */
import type { ModelFacts } from '../api/model-facts';
import type { TraceRequest } from './trace-request';

const FLOAT = 11; // "0.12345678," in JSON
const POOL_RUNS_ESTIMATE = 16;
/** Most pool-map runs one step records; more are cut (KvStep.pool_truncated). */
export const KV_POOL_RUNS_MAX = 1024;

export interface TraceSize {
  total: number;
  largest: { part: string; bytes: number };
}

export function estimateTraceBytes(t: TraceRequest, promptLen: number, maxTokens: number, facts: ModelFacts): TraceSize {
  const N = promptLen + maxTokens;
  const parts: Record<string, number> = {
    attention: t.attention ? t.attention.layers.length * t.attention.heads.length * ((N * (N + 1)) / 2 * FLOAT + N * 80) : 0,
    moe: t.moe ? N * facts.numLayers * (facts.numExperts * FLOAT + 8 * 40 + 100) : 0,
    kv: t.kv ? N * ((Math.ceil(N / Math.max(facts.blockSize, 1)) + 1) * 8 + POOL_RUNS_ESTIMATE * 30 + 150) : 0,
    scheduler: t.scheduler ? N * (8 * 50 + 250) : 0,
    sampling: t.samplingTop > 0 ? maxTokens * (t.samplingTop * 2 * 60 + 100) : 0,
    tokenizer: t.tokenizer ? t.promptText.length * 150 + promptLen * 40 : 0,
  };
  let largest = { part: 'attention', bytes: 0 };
  let total = 2048;
  for (const [part, bytes] of Object.entries(parts)) {
    total += bytes;
    if (bytes > largest.bytes) largest = { part, bytes };
  }
  return { total, largest };
}
