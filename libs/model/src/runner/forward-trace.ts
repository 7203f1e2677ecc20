/*
 * What both step backends do for an internals trace, in one place: the paged kernel's attention
 * observer for one layer (TS backend), and the MoE routing request for the traced rows of a batch
 * and the mapping of its answer back to (sequence, position) (both backends).
 *
 * What this is not: the recording of the ORT graph's attention probabilities (onnx/attention-probs.ts)
 * or the assembly of a sequence's trace (model-runner.ts). Called only when a step asks for a trace.
 */
import type { PagedAttentionObserver } from '@llm/tensor';
import type { ForwardTrace, MoeRoutingRequest } from './trace-types';
import type { FlatBatch, FlatSeq } from './types';

const seqIndexOf = (seq: FlatSeq, i: number) => seq.seqIndex ?? i;

/** The observer recording layer `layer`'s rows of the selected sequences, or undefined when none wants it. */
export function attentionObserver(trace: ForwardTrace, seqs: readonly FlatSeq[], layer: number): PagedAttentionObserver | undefined {
  let wanted = false;
  for (const sel of trace.select.values()) if (sel.layers?.has(layer)) wanted = true;
  if (!wanted) return undefined;
  return {
    headsOf: (si) => {
      const sel = trace.select.get(seqIndexOf(seqs[si], si));
      return sel?.layers?.has(layer) ? sel.heads : undefined;
    },
    onRow: (si, _row, head, kvHead, queryPosition, weights) => {
      trace.attention.push({ seqIndex: seqIndexOf(seqs[si], si), layer, head, kvHead, queryPosition, weights });
    },
  };
}

/** The rows of `batch` whose MoE routing is traced, with their (sequence, position); undefined when none. */
export function moeRequest(trace: ForwardTrace | undefined, batch: FlatBatch): { req: MoeRoutingRequest; owners: Array<{ seqIndex: number; position: number }> } | undefined {
  if (!trace) return undefined;
  const rows: number[] = [];
  const owners: Array<{ seqIndex: number; position: number }> = [];
  batch.seqs.forEach((seq, i) => {
    const seqIndex = seqIndexOf(seq, i);
    if (!trace.select.get(seqIndex)?.moe) return;
    for (let t = 0; t < seq.numNewTokens; t++) {
      rows.push(seq.start + t);
      owners.push({ seqIndex, position: batch.positions[seq.start + t] });
    }
  });
  if (rows.length === 0) return undefined;
  return { req: { rows: Int32Array.from(rows), out: [] }, owners };
}

/** Records an executor's answer to moeRequest: row i's routing belongs to owners[i]. */
export function recordMoe(trace: ForwardTrace, layer: number, asked: NonNullable<ReturnType<typeof moeRequest>>): void {
  const { req, owners } = asked;
  if (req.out.length !== owners.length) throw new Error(`MoE layer ${layer}: the executor traced ${req.out.length} rows, expected ${owners.length}`);
  req.out.forEach((r, i) => trace.moe.push({ ...r, layer, position: owners[i].position, seqIndex: owners[i].seqIndex }));
}
