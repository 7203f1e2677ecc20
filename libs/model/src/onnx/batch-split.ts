/*
 * Splits a step's FlatBatch into sub-batches whose padded attention layout stays dense. The
 * graph pads every sequence to the step's longest new-token run (Tmax), so one 512-token prefill
 * chunk next to 31 decodes would pad all 32 sequences to 512 rows: 32x the attention work and a
 * (S, NKV, G*Tmax, Pmax+Tmax) scores tensor of gigabytes. Sequences never interact in a decoder,
 * so running groups separately gives the same logits; the price is one more pass over the
 * weights per extra group, hence groups are merged while padding stays under 2x.
 *
 * Not a scheduler: it never drops or reorders work, only which run computes which sequence.
 * NOTE: only new-token counts are balanced. Cached-context lengths are padded to the group's
 * longest (Pmax), which costs gathered K/V rows, not scores; splitting on them too would pay
 * off only when the padded K/V bytes exceed one more pass over the weights.
 */
import type { FlatBatch } from '../runner/types';

/** One run's share of a step. */
export interface SubBatch {
  batch: FlatBatch;
  /** For each row of this sub-batch's logits, its index in the original batch's logitRows. */
  logitIndex: Int32Array;
}

/** Padded rows may be at most this multiple of the real rows within a group. */
const MAX_PADDING = 2;

/** Groups of sequence indices: sorted by new tokens, closed when padding would pass MAX_PADDING. */
export function groupSequences(numNew: number[]): number[][] {
  const order = numNew.map((_, s) => s).sort((a, b) => numNew[b] - numNew[a] || a - b);
  const groups: number[][] = [];
  let group: number[] = [];
  let tokens = 0;
  let tmax = 0;
  for (const s of order) {
    const t = numNew[s];
    const newTmax = Math.max(tmax, t);
    if (group.length > 0 && (group.length + 1) * newTmax > MAX_PADDING * (tokens + t)) {
      groups.push(group);
      group = [];
      tokens = 0;
    }
    group.push(s);
    tokens += t;
    tmax = group.length === 1 ? t : newTmax;
  }
  if (group.length > 0) groups.push(group);
  return groups.map((g) => g.sort((a, b) => a - b));
}

/** The batch restricted to sequences `seqIdx`, rows renumbered, plus where its logit rows go. */
function subBatch(batch: FlatBatch, seqIdx: number[]): SubBatch {
  const rowMap = new Map<number, number>(); // old flat row -> new flat row
  const seqs: FlatBatch['seqs'] = [];
  let next = 0;
  for (const s of seqIdx) {
    const seq = batch.seqs[s];
    for (let t = 0; t < seq.numNewTokens; t++) rowMap.set(seq.start + t, next + t);
    seqs.push({ ...seq, start: next });
    next += seq.numNewTokens;
  }
  const pick = (src: Int32Array) => {
    const out = new Int32Array(next);
    for (const [oldRow, newRow] of rowMap) out[newRow] = src[oldRow];
    return out;
  };
  const logitRows: number[] = [];
  const logitIndex: number[] = [];
  batch.logitRows.forEach((row, r) => {
    const mapped = rowMap.get(row);
    if (mapped !== undefined) {
      logitRows.push(mapped);
      logitIndex.push(r);
    }
  });
  return {
    batch: {
      tokenIds: pick(batch.tokenIds),
      positions: pick(batch.positions),
      slotMapping: pick(batch.slotMapping),
      seqs,
      logitRows: Int32Array.from(logitRows),
    },
    logitIndex: Int32Array.from(logitIndex),
  };
}

/** The sub-batches of a step; a batch that is already dense comes back whole. */
export function splitBatch(batch: FlatBatch): SubBatch[] {
  const groups = groupSequences(batch.seqs.map((s) => s.numNewTokens));
  if (groups.length <= 1) return [{ batch, logitIndex: Int32Array.from(batch.logitRows, (_, r) => r) }];
  const covered = batch.seqs.reduce((n, s) => n + s.numNewTokens, 0);
  if (covered !== batch.tokenIds.length) {
    throw new Error(`ORT backend: the sequences cover ${covered} of the batch's ${batch.tokenIds.length} rows (expected every row once)`);
  }
  return groups.map((g) => subBatch(batch, g));
}
