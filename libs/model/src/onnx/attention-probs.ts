/*
 * The internals trace on the ONNX Runtime path: a traced segment graph outputs each layer's
 * softmax weights attn_probs_<l>, the tensor its attention multiplies V by, in the padded step
 * layout (step-io.ts). This turns the rows of the traced sequences back into one row per
 * (layer, query head, query position) over key positions 0..position:
 *
 *   probs (S, NKV, G*Tmax, Pmax+Tmax); row g*Tmax + t of kv head kvh = query head h = kvh*G + g
 *   at position p = past_s + t (past_s = cached positions of sequence s);
 *   column c < past_s      -> key position c           (cached K from the pool)
 *   column Pmax + j, j <= t -> key position past_s + j   (this step's new K)
 *   every other column is masked (exactly 0) and left out.
 *
 * What this is not: the graph (decoder-graph.ts) or a second computation of attention.
 */
import type { ForwardTrace } from '../runner/trace-types';
import type { FlatBatch } from '../runner/types';
import type { StepLayout } from './step-io';

export function recordAttentionProbs(trace: ForwardTrace, batch: FlatBatch, layout: StepLayout, layer: number, probs: Float32Array, numHeads: number, numKvHeads: number): void {
  const { maxNew: Tmax, maxPast: Pmax } = layout;
  const G = numHeads / numKvHeads;
  const cols = Pmax + Tmax;
  if (probs.length !== layout.numSeqs * numKvHeads * G * Tmax * cols) {
    throw new Error(`ORT backend: attn_probs_${layer} has ${probs.length} values, expected ${layout.numSeqs}x${numKvHeads}x${G * Tmax}x${cols}`);
  }
  batch.seqs.forEach((seq, s) => {
    const seqIndex = seq.seqIndex ?? s;
    const sel = trace.select.get(seqIndex);
    if (!sel?.layers?.has(layer)) return;
    const past = seq.contextLen - seq.numNewTokens;
    for (let t = 0; t < seq.numNewTokens; t++) {
      for (const head of sel.heads) {
        const kvHead = Math.floor(head / G);
        const g = head % G;
        const base = ((s * numKvHeads + kvHead) * G * Tmax + g * Tmax + t) * cols;
        const weights = new Float32Array(past + t + 1);
        weights.set(probs.subarray(base, base + past)); // cached keys 0..past-1
        weights.set(probs.subarray(base + Pmax, base + Pmax + t + 1), past); // new keys past..past+t
        trace.attention.push({ seqIndex, layer, head, kvHead, queryPosition: past + t, weights });
      }
    }
  });
}
