/*
 * Builds the backend's FlatBatch from a validated step: every sequence's new tokens one after
 * another (prefill chunks and single-token decodes alike), their absolute positions, the pool
 * slot of each (from the block table), and the rows whose logits the sampler needs.
 *
 * What this is not: validation (validate-step.ts runs first) or scheduling.
 *
 *   seq a: prefill chunk of 3 at positions 5..7   rows 0..2
 *   seq b: one decode token at position 12        row 3       logitRows = [2, 3] when both sample
 *   (a's last row is a logit row only when a samples after this chunk; an embedding sequence's
 *   rows are all logit rows, as their final hidden states are pooled; a sequence carrying d
 *   speculative draft tokens at its end has its last 1 + d rows as logit rows, to verify them)
 */
import { slotOf } from '@llm/tensor';
import type { StepSequenceInput } from './step-types';
import type { FlatBatch, FlatSeq } from './types';

export function buildFlatBatch(sequences: readonly (StepSequenceInput & { numDraftTokens?: number })[], blockSize: number): FlatBatch {
  const N = sequences.reduce((n, s) => n + s.tokenIds.length, 0);
  const tokenIds = new Int32Array(N);
  const positions = new Int32Array(N);
  const slotMapping = new Int32Array(N);
  const seqs: FlatSeq[] = [];
  const logitRows: number[] = [];
  let row = 0;
  for (const [seqIndex, s] of sequences.entries()) {
    const n = s.tokenIds.length;
    const contextLen = s.startPosition + n;
    const blockTable = Int32Array.from({ length: Math.ceil(contextLen / blockSize) }, (_, b) => s.blockIds[b]);
    for (let t = 0; t < n; t++) {
      tokenIds[row + t] = s.tokenIds[t];
      positions[row + t] = s.startPosition + t;
      slotMapping[row + t] = slotOf(blockTable, s.startPosition + t, blockSize);
    }
    seqs.push({ start: row, numNewTokens: n, contextLen, blockTable, seqIndex });
    if (s.embedPooling || s.promptLogprobs) for (let t = 0; t < n; t++) logitRows.push(row + t); // every row is pooled / scored
    else if (s.sample) for (let t = n - 1 - (s.numDraftTokens ?? 0); t < n; t++) logitRows.push(row + t);
    row += n;
  }
  return { tokenIds, positions, slotMapping, seqs, logitRows: Int32Array.from(logitRows) };
}
