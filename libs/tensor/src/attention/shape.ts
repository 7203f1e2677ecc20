/**
 * The shape contract shared by the attention kernels (naive, flash).
 *
 * Layouts (row-major, token-major so projections need no transpose):
 *   q, out: (T, NH, HS)     the T new query tokens
 *   k, v:   (S, NKV, HS)    all S keys/values the queries may see (cached past + the new tokens);
 *                           the arrays may be longer (a cache's capacity), only rows < S are read
 * Query t sits at absolute position queryOffset + t (default S - T: the new tokens are the last
 * T keys). With the causal mask it sees keys 0 .. queryOffset + t.
 * GQA: query head h reads kv head floor(h / (NH / NKV)) (HF repeat_kv order), by index, never a copy.
 * MHA is NKV = NH, MQA is NKV = 1.
 */
import { FloatArray, checkLength } from '../tensor';

export interface AttentionShape {
  /** T: query tokens */
  numQueries: number;
  /** S: key/value tokens visible (past + new) */
  numKeys: number;
  /** NH */
  numHeads: number;
  /** NKV; must divide NH */
  numKvHeads: number;
  /** HS */
  headDim: number;
  /** apply the causal mask (default true) */
  causal?: boolean;
  /** absolute position of query 0 (default S - T) */
  queryOffset?: number;
  /** score scale (default 1 / sqrt(HS)) */
  scale?: number;
}

export interface ResolvedShape {
  T: number;
  S: number;
  NH: number;
  NKV: number;
  HS: number;
  group: number;
  causal: boolean;
  offset: number;
  scale: number;
}

export function resolveShape(name: string, out: FloatArray, q: FloatArray, k: FloatArray, v: FloatArray, s: AttentionShape): ResolvedShape {
  const { numQueries: T, numKeys: S, numHeads: NH, numKvHeads: NKV, headDim: HS } = s;
  for (const [field, val] of [['numQueries', T], ['numKeys', S], ['numHeads', NH], ['numKvHeads', NKV], ['headDim', HS]] as const) {
    if (!Number.isInteger(val) || val < 0) throw new Error(`${name}: ${field}=${val} is invalid (expected a non-negative integer)`);
  }
  if (NH === 0 || NKV === 0 || HS === 0) throw new Error(`${name}: numHeads, numKvHeads and headDim must be positive`);
  if (NH % NKV !== 0) throw new Error(`${name}: numKvHeads=${NKV} must divide numHeads=${NH}`);
  const causal = s.causal ?? true;
  const offset = s.queryOffset ?? S - T;
  if (causal && T > 0 && (offset < 0 || offset + T > S)) {
    throw new Error(`${name}: queries at positions ${offset}..${offset + T - 1} need keys up to ${offset + T - 1} but numKeys=${S}`);
  }
  if (T > 0 && S === 0) throw new Error(`${name}: numKeys=0 (every query needs at least one key)`);
  checkLength(`${name} q`, q, T * NH * HS);
  checkLength(`${name} out`, out, T * NH * HS);
  checkLength(`${name} k`, k, S * NKV * HS);
  checkLength(`${name} v`, v, S * NKV * HS);
  return { T, S, NH, NKV, HS, group: NH / NKV, causal, offset, scale: s.scale ?? 1 / Math.sqrt(HS) };
}

/** Number of keys query t may see: all S, or (causal) queryOffset + t + 1. */
export function visibleKeys(r: ResolvedShape, t: number): number {
  return r.causal ? Math.min(r.S, r.offset + t + 1) : r.S;
}
