/*
 * The internals trace on the OpenAI-compatible HTTP API: the body's `trace` goes onto the request
 * (one prompt only; ./openai-body.ts), and the llm.trace.v1.Trace that comes back becomes the
 * `trace` object beside `choices` (unary) or on the final chunk (stream), in snake_case JSON:
 *
 *   model {num_layers, num_heads, num_kv_heads, num_experts, model_id}, prompt_token_ids, output_token_ids
 *   tokenizer.pieces[] {text, ids, tokens, texts, initial, special, merges[] {left, right, merged, merged_id, rank, index}}
 *   attention[] {layer, head, kv_head, query_position, weights[query_position + 1]}, attention_skipped_positions
 *   moe[] {layer, position, gate_probs[E], experts[k], weights[k], replicas[k], dropped[k]}
 *   kv {block_size, num_blocks, steps[] {step, block_table, prefix_hit_blocks, shared_blocks, copies[] {src, dst},
 *       pool [[state, blocks], ...], pool_truncated, num_computed_tokens}}
 *   scheduler {num_preemptions, steps[] {step, batch[] {traced, tokens, kind}, preempted, start_ms, allocate_ms,
 *       step_ms, forward_ms, grammar_ms, worker_ms}}
 *   sampling[] {position, token_id, token, candidates[] {token_id, token, prob}, unmasked[] {..., allowed}, num_allowed, masked}
 *
 * Floats keep 7 significant digits (float32 precision). What it is not: the page that draws it
 * (./internals) or admission (trace/trace-request.ts).
 */
import { trace as tr } from '@llm/proto';
import type { ModelFacts } from '../api/model-facts';

const f7 = (x: number) => Number(x.toPrecision(7));
const floats = (bytes: Uint8Array) => Array.from(new Float32Array(Uint8Array.from(bytes).buffer), f7); // little-endian f32

const STATE: Record<number, string> = {
  [tr.BlockState.BLOCK_STATE_FREE]: 'free',
  [tr.BlockState.BLOCK_STATE_CACHED]: 'cached',
  [tr.BlockState.BLOCK_STATE_USED]: 'used',
  [tr.BlockState.BLOCK_STATE_USED_CACHED]: 'used_cached',
  [tr.BlockState.BLOCK_STATE_SHARED]: 'shared',
};

export function traceJson(t: tr.Trace, facts: ModelFacts): Record<string, unknown> {
  const text = (id: number) => facts.tokenizer.decode([id], { skipSpecialTokens: false });
  const out: Record<string, unknown> = {
    model: { num_layers: t.model?.numLayers, num_heads: t.model?.numHeads, num_kv_heads: t.model?.numKvHeads, num_experts: t.model?.numExperts, model_id: t.model?.modelId },
    prompt_token_ids: t.promptTokenIds,
    output_token_ids: t.outputTokenIds,
  };
  if (t.tokenizer) {
    out.tokenizer = {
      pieces: t.tokenizer.pieces.map((p) => ({
        text: p.text, ids: p.tokenIds, tokens: p.tokens, texts: p.tokenIds.map(text), initial: p.initial, special: p.special,
        merges: p.merges.map((m) => ({ left: m.left, right: m.right, merged: m.merged, merged_id: m.mergedId, rank: m.rank, index: m.index })),
      })),
    };
  }
  if (t.attention.length > 0 || t.attentionSkippedPositions > 0) {
    out.attention = t.attention.map((r) => ({ layer: r.layer, head: r.head, kv_head: r.kvHead, query_position: r.queryPosition, weights: floats(r.weightsF32) }));
    out.attention_skipped_positions = t.attentionSkippedPositions;
  }
  if (t.moe.length > 0) {
    out.moe = t.moe.map((m) => ({ layer: m.layer, position: m.position, gate_probs: floats(m.gateProbsF32), experts: m.expertIds, weights: m.weights.map(f7), replicas: m.replicas, dropped: m.dropped }));
  }
  if (t.kv) {
    out.kv = {
      block_size: t.kv.blockSizeTokens,
      num_blocks: t.kv.numBlocks,
      steps: t.kv.steps.map((s) => ({
        step: s.stepId, block_table: s.blockIds, prefix_hit_blocks: s.numPrefixHitBlocks, shared_blocks: s.sharedBlockIds,
        copies: s.copies.map((c) => ({ src: c.srcBlockId, dst: c.dstBlockId })), pool: s.pool.map((r) => [STATE[r.state] ?? 'unknown', r.numBlocks]),
        pool_truncated: s.poolTruncated, num_computed_tokens: s.numComputedTokens,
      })),
    };
  }
  if (t.scheduler) {
    const ms = (x: number) => Math.round(x * 1000) / 1000;
    out.scheduler = {
      num_preemptions: t.scheduler.numPreemptions,
      steps: t.scheduler.steps.map((s) => ({
        step: s.stepId, batch: s.batch.map((b) => ({ traced: b.traced, tokens: b.numTokens, kind: b.prefill ? 'prefill' : 'decode' })), preempted: s.numPreempted,
        start_ms: ms(s.startMs), allocate_ms: ms(s.allocateMs), step_ms: ms(s.stepMs), forward_ms: ms(s.forwardMs), grammar_ms: ms(s.grammarMs), worker_ms: ms(s.workerMs),
      })),
    };
  }
  if (t.sampling.length > 0) {
    const cand = (c: tr.SamplingCandidate, allowed: boolean) => ({ token_id: c.tokenId, token: text(c.tokenId), prob: f7(c.prob), ...(allowed ? { allowed: c.allowed } : {}) });
    out.sampling = t.sampling.map((s) => ({
      position: s.position, token_id: s.tokenId, token: text(s.tokenId), candidates: s.candidates.map((c) => cand(c, false)),
      unmasked: s.unmasked.map((c) => cand(c, true)), num_allowed: s.numAllowed, masked: s.masked,
    }));
  }
  return out;
}
