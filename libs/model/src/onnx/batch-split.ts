/*
 * Splits a step's FlatBatch into sub-batches whose padded attention layout stays dense, and
 * long prefill chunks into pieces that run one after the other (see `rounds`). The
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
import type { FlatBatch, FlatSeq } from '../runner/types';

/** One run's share of a step. */
export interface SubBatch {
  batch: FlatBatch;
  /** For each row of this sub-batch's logits, its index in the original batch's logitRows. */
  logitIndex: Int32Array;
}

/** Padded rows may be at most this multiple of the real rows within a group. */
const MAX_PADDING = 2;
/**
 * Most new tokens of one sequence per run. Longer prefill chunks run as pieces, each attending
 * to the earlier ones through the pool: the (S, NKV, G*T, P+T) scores stay bounded by the piece
 * size, and most of the masked upper triangle is skipped (two 256-token pieces compute 3/4 of
 * the scores of one 512-token run), for one more (compute-bound) pass over the weights per piece.
 * Measured side by side on the bench's model (8 rounds): two pieces 0.96x the time of one run
 * at 512 tokens; the bench's 3-round A/B swings between 0.73x and 1.13x on a shared machine.
 */
export const MAX_ROWS_PER_SEQ = 256;

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

/** The batch restricted to `pieces` (runs of rows of its sequences), rows renumbered, plus where its logit rows go. */
function subBatch(batch: FlatBatch, pieces: FlatSeq[]): SubBatch {
  const rowMap = new Map<number, number>(); // old flat row -> new flat row
  const seqs: FlatSeq[] = [];
  let next = 0;
  for (const piece of pieces) {
    for (let t = 0; t < piece.numNewTokens; t++) rowMap.set(piece.start + t, next + t);
    seqs.push({ ...piece, start: next });
    next += piece.numNewTokens;
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

/**
 * Cuts each sequence's new tokens into pieces of at most maxRows (balanced sizes); piece k of
 * every sequence goes to round k. Round k + 1 runs after round k has written its K/V, so a
 * piece sees the earlier pieces of its sequence as cached context: causal attention then skips
 * most of the masked upper triangle that one padded run would compute.
 */
function rounds(batch: FlatBatch, maxRows: number): FlatSeq[][] {
  const out: FlatSeq[][] = [];
  for (const seq of batch.seqs) {
    const T = seq.numNewTokens;
    const past = seq.contextLen - T;
    const n = Math.max(1, Math.ceil(T / maxRows));
    const size = Math.ceil(T / n);
    for (let k = 0; k * size < T; k++) {
      const end = Math.min(T, (k + 1) * size);
      (out[k] ??= []).push({ start: seq.start + k * size, numNewTokens: end - k * size, contextLen: past + end, blockTable: seq.blockTable, seqIndex: seq.seqIndex });
    }
  }
  return out;
}

/**
 * The sub-batches of a step, in the order they must run; a batch that is already dense comes
 * back whole. maxRowsPerSeq caps one sequence's rows per run (see `rounds`).
 */
export function splitBatch(batch: FlatBatch, maxRowsPerSeq = MAX_ROWS_PER_SEQ): SubBatch[] {
  const covered = batch.seqs.reduce((n, s) => n + s.numNewTokens, 0);
  if (covered !== batch.tokenIds.length) {
    throw new Error(`ORT backend: the sequences cover ${covered} of the batch's ${batch.tokenIds.length} rows (expected every row once)`);
  }
  const byRound = rounds(batch, maxRowsPerSeq);
  const plan = byRound.map((round) => groupSequences(round.map((p) => p.numNewTokens)).map((g) => g.map((i) => round[i])));
  if (plan.length <= 1 && plan[0].length <= 1) return [{ batch, logitIndex: Int32Array.from(batch.logitRows, (_, r) => r) }];
  return plan.flat().map((pieces) => subBatch(batch, pieces));
}
