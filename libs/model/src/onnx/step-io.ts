/*
 * The step's graph inputs, computed in plain TypeScript from a FlatBatch: the padded
 * per-sequence layout that in-graph attention uses, the pool slots of each sequence's cached
 * context, RoPE position ids and tables, and the additive causal + padding mask. Also the
 * write-back of the step's new K/V into the pool at slotMapping.
 *
 * Everything here is O(tokens x context) index bookkeeping; no matmul or softmax runs in JS.
 * Not a validator: the ModelRunner validates batches before a backend sees them; here only
 * what would otherwise read out of bounds is checked.
 *
 * Layout (S sequences, Tmax = most new tokens of any sequence, Pmax = most cached positions):
 *   pad_rows   (S, Tmax)            flat row of new token t of sequence s (padding: the seq's first row)
 *   unpad_rows (N)                  s * Tmax + t for each flat row
 *   past_slots (S, Pmax)            pool slot of cached position p (padding: slot 0, masked)
 *   past_rows  (S, NKV, Pmax)       row slot * NKV + h of the pool viewed as (slots * NKV, HS)
 *   attn_mask  (S, 1, G*Tmax, Pmax+Tmax)   0 where row (g, t) may attend column c, else -1e9
 *     column c < Pmax: cached position c, visible iff c < P_s
 *     column Pmax + j: new token j, visible iff j <= t and j < T_s   (causal within the step)
 */
import type { FlatBatch, KvPool } from '../runner/types';

/** Names of the segment graphs' inputs and outputs. */
export const STEP = {
  tokenIds: 'token_ids', // (N) int32
  positions: 'positions', // (N) int32, learned positions only
  resid: 'resid', // (N, C) residual stream entering a segment after a MoE layer
  delta: 'delta', // (N, C) MoE output to add to it
  padRows: 'pad_rows',
  unpadRows: 'unpad_rows',
  pastRows: 'past_rows', // (S, NKV, Pmax) int32
  padPos: 'pad_pos', // (S, Tmax) int64 RoPE position ids
  ropeCos: 'rope_cos', // (P, HS/2) cos(p * inv_freq[i]) for positions 0..P-1
  ropeSin: 'rope_sin',
  attnMask: 'attn_mask',
  logitRows: 'logit_rows', // (R) int32
  kPool: (l: number) => `k_pool_${l}`, // (slots, NKV, HS)
  vPool: (l: number) => `v_pool_${l}`,
  kNew: 'k_new', // (S, Tmax, Lseg*NKV*HS) outputs
  vNew: 'v_new',
  logits: 'logits', // (R, V)
  hidden: 'final_hidden', // (R, C) final-norm rows of logit_rows
  residOut: 'resid_out', // (N, C) before a MoE layer
  normedOut: 'normed_out', // (N, C) the MoE layer's normed input
  attnProbs: (l: number) => `attn_probs_${l}`, // (S, NKV, G*Tmax, Pmax+Tmax) traced graphs only
} as const;

/** Additive mask value for hidden columns: exp(-1e9 - max) is exactly 0 in f32. */
export const MASK_NEG = -1e9;

/** The padded layout of one step, shared by every segment graph of the step. */
export interface StepLayout {
  numTokens: number; // N
  numSeqs: number; // S
  maxNew: number; // Tmax
  maxPast: number; // Pmax (>= 1: one masked column keeps shapes non-empty)
  maxPosition: number; // largest position in the batch
  padRows: Int32Array;
  unpadRows: Int32Array;
  pastSlots: Int32Array;
  pastRows: Int32Array;
  padPos: BigInt64Array;
  attnMask: Float32Array;
}

/** Computes the padded layout of a batch (see the file comment). `group` = NH / NKV. */
export function stepLayout(batch: FlatBatch, blockSize: number, group: number, numKvHeads: number): StepLayout {
  const N = batch.tokenIds.length;
  const S = batch.seqs.length;
  if (N === 0 || S === 0) throw new Error('ORT backend: the batch has no tokens (expected at least one sequence with new tokens)');
  let Tmax = 1;
  let Pmax = 1;
  let maxPosition = 0;
  for (const seq of batch.seqs) {
    Tmax = Math.max(Tmax, seq.numNewTokens);
    Pmax = Math.max(Pmax, seq.contextLen - seq.numNewTokens);
    maxPosition = Math.max(maxPosition, seq.contextLen - 1);
  }
  const padRows = new Int32Array(S * Tmax);
  const unpadRows = new Int32Array(N).fill(-1);
  const pastSlots = new Int32Array(S * Pmax);
  const padPos = new BigInt64Array(S * Tmax);
  batch.seqs.forEach((seq, s) => {
    const past = seq.contextLen - seq.numNewTokens;
    if (seq.start < 0 || seq.start + seq.numNewTokens > N || past < 0) {
      throw new Error(`ORT backend: sequence ${s} covers rows ${seq.start}..${seq.start + seq.numNewTokens - 1} of ${N} with contextLen ${seq.contextLen}`);
    }
    for (let t = 0; t < Tmax; t++) {
      const row = seq.start + Math.min(t, seq.numNewTokens - 1);
      padRows[s * Tmax + t] = row;
      padPos[s * Tmax + t] = BigInt(past + Math.min(t, seq.numNewTokens - 1));
      if (t < seq.numNewTokens) unpadRows[row] = s * Tmax + t;
    }
    for (let p = 0; p < past; p++) {
      pastSlots[s * Pmax + p] = seq.blockTable[Math.floor(p / blockSize)] * blockSize + (p % blockSize);
    }
  });
  const missing = unpadRows.indexOf(-1);
  if (missing >= 0) throw new Error(`ORT backend: flat row ${missing} belongs to no sequence`);
  const attnMask = buildMask(batch, S, Tmax, Pmax, group);
  const pastRows = poolRows(pastSlots, S, Pmax, numKvHeads);
  return { numTokens: N, numSeqs: S, maxNew: Tmax, maxPast: Pmax, maxPosition, padRows, unpadRows, pastSlots, pastRows, padPos, attnMask };
}

/** past_rows[s, h, p] = past_slots[s, p] * NKV + h: the (slot, head) row of the pool as (slots*NKV, HS). */
function poolRows(pastSlots: Int32Array, S: number, Pmax: number, NKV: number): Int32Array {
  const rows = new Int32Array(S * NKV * Pmax);
  for (let s = 0; s < S; s++) {
    for (let h = 0; h < NKV; h++) {
      const out = (s * NKV + h) * Pmax;
      for (let p = 0; p < Pmax; p++) rows[out + p] = pastSlots[s * Pmax + p] * NKV + h;
    }
  }
  return rows;
}

/** attn_mask (S, 1, G*Tmax, Pmax+Tmax); row index within a sequence is g * Tmax + t. */
function buildMask(batch: FlatBatch, S: number, Tmax: number, Pmax: number, G: number): Float32Array {
  const cols = Pmax + Tmax;
  const mask = new Float32Array(S * G * Tmax * cols).fill(MASK_NEG);
  batch.seqs.forEach((seq, s) => {
    const past = seq.contextLen - seq.numNewTokens;
    for (let t = 0; t < Tmax; t++) {
      const row = mask.subarray((s * G * Tmax + t) * cols, (s * G * Tmax + t + 1) * cols);
      row.fill(0, 0, past); // cached positions 0..P_s-1
      row.fill(0, Pmax, Pmax + Math.min(t + 1, seq.numNewTokens)); // new tokens j <= t, j < T_s
      for (let g = 1; g < G; g++) mask.set(row, (s * G * Tmax + g * Tmax + t) * cols);
    }
  });
  return mask;
}

/**
 * RoPE tables for positions 0..P-1: cos/sin(p * inv_freq[i]), (P, HS/2), grown on demand and
 * handed out as views (no copy per step). Same numbers as @llm/tensor's ropeTables, which
 * needs its size up front.
 */
export class RopeTableCache {
  private cos = new Float32Array(0);
  private sin = new Float32Array(0);
  private rows = 0;

  constructor(private readonly invFreq: Float32Array) {}

  /** Views of the first `numPositions` rows. */
  get(numPositions: number): { cos: Float32Array; sin: Float32Array } {
    if (numPositions > this.rows) this.grow(Math.max(numPositions, this.rows * 2, 256));
    const n = numPositions * this.invFreq.length;
    return { cos: this.cos.subarray(0, n), sin: this.sin.subarray(0, n) };
  }

  private grow(rows: number): void {
    const half = this.invFreq.length;
    this.cos = new Float32Array(rows * half);
    this.sin = new Float32Array(rows * half);
    for (let p = 0; p < rows; p++) {
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(p * this.invFreq[i]); // angle = pos * inv_freq[i], in float32 like HF
        this.cos[p * half + i] = Math.cos(angle);
        this.sin[p * half + i] = Math.sin(angle);
      }
    }
    this.rows = rows;
  }
}

/**
 * Writes a segment's new K/V (S, Tmax, Lseg*NKV*HS) into the pool: new token t of sequence s
 * goes to slot slotMapping[start + t] of each of the segment's layers.
 */
export function writeNewKv(
  pool: KvPool,
  batch: FlatBatch,
  layout: StepLayout,
  layers: number[],
  kNew: Float32Array,
  vNew: Float32Array,
): void {
  const D = pool.numKvHeads * pool.headDim; // NKV*HS floats per (token, layer)
  const Lseg = layers.length;
  batch.seqs.forEach((seq, s) => {
    for (let t = 0; t < seq.numNewTokens; t++) {
      const slotOff = batch.slotMapping[seq.start + t] * D;
      const rowOff = (s * layout.maxNew + t) * Lseg * D;
      for (let li = 0; li < Lseg; li++) {
        const src = rowOff + li * D;
        pool.k[layers[li]].set(kNew.subarray(src, src + D), slotOff);
        pool.v[layers[li]].set(vNew.subarray(src, src + D), slotOff);
      }
    }
  });
}
