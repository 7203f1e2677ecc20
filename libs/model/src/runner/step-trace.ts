/*
 * The worker engine's side of the internals trace: checks a step's trace options, tells the
 * backend what to record (ForwardTrace), sorts what it recorded into one StepTraceOut per traced
 * sequence, and records a draw's candidates: the top tokens of the distribution the sampler drew
 * from, and with a grammar the same distribution without the mask, each marked allowed or not.
 *
 * What this is not: the recording itself (the backends, forward-trace.ts) or the orchestrator's
 * assembly of a request's trace. A step without trace options never calls into this file.
 */
import { topK } from '@llm/tensor';
import { drawLogprobs } from '../sampling';
import { RunnerError, invalidSeq } from './errors';
import type { CachedSeqState } from './seq-state';
import { MAX_TOP_LOGPROBS, type StepInput } from './step-types';
import type { ForwardTrace, ForwardTraceSelect, SamplingCandidateTrace, StepTraceOut, TokenSamplingTrace } from './trace-types';

/** What trace checks need to know about the worker. */
export interface TraceLimits {
  traceable: boolean;
  numLayers: number; // L
  numHeads: number; // NH
}

/** Refuses trace options this worker cannot honour, naming the sequence and field. */
export function checkStepTrace(input: StepInput, limits: TraceLimits): void {
  for (const seq of input.sequences) {
    const t = seq.trace;
    if (!t) continue;
    const id = seq.seqId;
    if (!limits.traceable) throw new RunnerError('FAILED_PRECONDITION', `sequence ${JSON.stringify(id)}: trace needs a worker started with --allow-trace`, id, 'trace');
    for (const l of t.attention?.layers ?? []) {
      if (!Number.isInteger(l) || l < 0 || l >= limits.numLayers) throw invalidSeq(id, 'trace.attention.layers', `has ${l} (the model's layers are 0..${limits.numLayers - 1})`);
    }
    for (const h of t.attention?.heads ?? []) {
      if (!Number.isInteger(h) || h < 0 || h >= limits.numHeads) throw invalidSeq(id, 'trace.attention.heads', `has ${h} (the model's query heads are 0..${limits.numHeads - 1})`);
    }
    const top = t.samplingTop ?? 0;
    if (!Number.isInteger(top) || top < 0 || top > MAX_TOP_LOGPROBS) throw invalidSeq(id, 'trace.sampling.top', `= ${top} (expected 0..${MAX_TOP_LOGPROBS})`);
  }
}

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

/** What the backend records in this step, or undefined when no sequence asks for attention or MoE routing. */
export function forwardTraceOf(input: StepInput, limits: TraceLimits): ForwardTrace | undefined {
  const select = new Map<number, ForwardTraceSelect>();
  input.sequences.forEach((seq, i) => {
    const t = seq.trace;
    if (!t || (!t.attention && !t.moe)) return;
    const layers = t.attention ? new Set(t.attention.layers.length > 0 ? t.attention.layers : all(limits.numLayers)) : null;
    const heads = t.attention && t.attention.heads.length > 0 ? [...new Set(t.attention.heads)].sort((a, b) => a - b) : all(limits.numHeads);
    select.set(i, { layers, heads, moe: t.moe ?? false });
  });
  return select.size > 0 ? { select, attention: [], moe: [] } : undefined;
}

/** The recorded rows and routing of sequence `seqIndex`, in (layer, position, head) order. */
export function stepTraceOf(trace: ForwardTrace | undefined, seqIndex: number): StepTraceOut {
  const attention = (trace?.attention ?? []).filter((r) => r.seqIndex === seqIndex).map(({ seqIndex: _s, ...r }) => r);
  attention.sort((a, b) => a.layer - b.layer || a.queryPosition - b.queryPosition || a.head - b.head);
  const moe = (trace?.moe ?? []).filter((r) => r.seqIndex === seqIndex).map(({ seqIndex: _s, ...r }) => r);
  moe.sort((a, b) => a.layer - b.layer || a.position - b.position);
  return { attention, moe };
}

/**
 * A draw's candidates. `row` is the logits row the sampler drew from (grammar mask applied when one
 * applies); `unmasked` is the same row before the mask (undefined without a grammar).
 */
export function samplingTraceOf(row: Float32Array, unmasked: Float32Array | undefined, state: CachedSeqState, top: number, tokenId: number, position: number): TokenSamplingTrace {
  const candidates = topCandidates(row, state, top).filter((c) => c.prob > 0);
  if (!unmasked) return { position, tokenId, candidates, unmasked: [], numAllowed: 0, masked: false };
  let numAllowed = 0;
  for (let i = 0; i < row.length; i++) if (row[i] !== -Infinity) numAllowed++;
  const before = topCandidates(unmasked, state, top).map((c) => ({ ...c, allowed: row[c.tokenId] !== -Infinity }));
  return { position, tokenId, candidates, unmasked: before, numAllowed, masked: true };
}

/** Top `top` tokens of the draw's distribution (sampler.ts drawLogprobs), most likely first. */
function topCandidates(row: Float32Array, state: CachedSeqState, top: number): SamplingCandidateTrace[] {
  const { logp } = drawLogprobs(row, state.samplerParams, state.counts);
  const best = topK(logp, Math.min(top, logp.length));
  return Array.from(best.indices, (tokenId, i) => ({ tokenId, prob: Math.exp(best.values[i]), allowed: true }));
}
