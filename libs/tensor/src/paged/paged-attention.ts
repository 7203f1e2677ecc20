/*
 * Paged flash attention (TypeScript reference kernel and tiny-model path).
 *
 * For each new query token of each sequence, walks that sequence's KV blocks through its block
 * table and folds each block into a running softmax (the online-softmax recurrence of
 * FlashAttention, Dao et al. 2022; Milakov & Gimelshein 2018), so no score vector longer than one
 * block is ever held. Causal: a token at position p sees positions 0..p of its own sequence (the
 * cached context and the earlier tokens of its own prefill chunk, whose K/V must already be in the
 * pool). GQA: query head h reads kv head floor(h / (NH / NKV)) in place, nothing is repeated or
 * copied; MHA (NKV = NH) and MQA (NKV = 1) are the special cases.
 *
 * Observing (internals trace): with an observer, each selected (sequence, query head) also hands
 * over its attention row, the final normalised weights p_j = e^(s_j - m) / l recomputed from the
 * scores with the online softmax's final m and l, i.e. exactly the weights the output used.
 * Without an observer nothing extra runs.
 *
 * What this is not: the fast path. Hot loops here are plain JS (~1 GFLOP/s); large models run
 * attention inside the ONNX Runtime graph (libs/model/src/onnx). This kernel is the reference
 * that path is tested against and the engine of the TS backend.
 *
 * Shapes: N rows in the flat batch, NH query heads, NKV kv heads, HS head size.
 *   q, out: (N, NH, HS); kPool, vPool: (numBlocks * blockSize, NKV, HS)
 */
import { slotOf } from './kv-slots';

/** One sequence's rows of the flat batch and its block table (same shape as the runner's FlatSeq). */
export interface PagedSeqView {
  start: number; // first row in the flat batch
  numNewTokens: number; // rows start .. start + numNewTokens - 1
  blockTable: ArrayLike<number>; // physical block ids covering positions 0 .. last new position
}

export interface PagedAttentionSizes {
  numHeads: number; // NH
  numKvHeads: number; // NKV, divides NH
  headDim: number; // HS
  blockSize: number; // tokens per block
  scale?: number; // score scale, default 1 / sqrt(HS)
}

/** Receives attention rows of selected sequences (the internals trace); see the file comment. */
export interface PagedAttentionObserver {
  /** Query heads to report for sequence `seqIndex` (index into seqs); undefined: none of its rows. */
  headsOf(seqIndex: number): readonly number[] | undefined;
  /** weights (position + 1): softmax over key positions 0..position of row `row`, head `head` (reading kv head `kvHead`). */
  onRow(seqIndex: number, row: number, head: number, kvHead: number, position: number, weights: Float32Array): void;
}

/**
 * out[i, h, :] = sum_{j <= positions[i]} softmax_j(scale * q[i, h] . k[j, g]) v[j, g],  g = floor(h / (NH / NKV)),
 * where k[j, g], v[j, g] are read from the pool at slot slotOf(blockTable, j, blockSize).
 * Throws RangeError (naming the sequence and logical block) for a block id outside the pool.
 */
export function pagedAttention(
  out: Float32Array,
  q: Float32Array,
  kPool: Float32Array,
  vPool: Float32Array,
  positions: ArrayLike<number>,
  seqs: readonly PagedSeqView[],
  sizes: PagedAttentionSizes,
  observer?: PagedAttentionObserver,
): void {
  const { numHeads: NH, numKvHeads: NKV, headDim: HS, blockSize } = sizes;
  if (NH % NKV !== 0) throw new RangeError(`numHeads ${NH} is not a multiple of numKvHeads ${NKV}`);
  const scale = sizes.scale ?? 1 / Math.sqrt(HS);
  const numBlocks = Math.floor(kPool.length / (blockSize * NKV * HS));
  const scratch: Scratch = { s: new Float64Array(blockSize), acc: new Float64Array(HS), m: 0, l: 0 }; // f64 accumulators; m, l of the last row
  for (let si = 0; si < seqs.length; si++) {
    const seq = seqs[si];
    if (seq.numNewTokens <= 0) continue;
    let maxPos = 0;
    for (let i = seq.start; i < seq.start + seq.numNewTokens; i++) maxPos = Math.max(maxPos, positions[i]);
    checkBlockTable(seq.blockTable, Math.floor(maxPos / blockSize) + 1, numBlocks, si);
    const observed = observer?.headsOf(si);
    for (let i = seq.start; i < seq.start + seq.numNewTokens; i++) {
      for (let h = 0; h < NH; h++) {
        const g = Math.floor(h / (NH / NKV));
        attendOne(out, q, kPool, vPool, (i * NH + h) * HS, g, positions[i], seq.blockTable, sizes, scale, scratch);
        if (observed?.includes(h)) {
          const w = rowWeights(q, kPool, (i * NH + h) * HS, g, positions[i], seq.blockTable, sizes, scale, scratch);
          (observer as PagedAttentionObserver).onRow(si, i, h, g, positions[i], w);
        }
      }
    }
  }
}

/** p_j = e^(s_j - m) / l for j = 0..pos, with the m and l the online softmax ended with. */
function rowWeights(
  q: Float32Array,
  kPool: Float32Array,
  qOff: number,
  g: number,
  pos: number,
  blockTable: ArrayLike<number>,
  sizes: PagedAttentionSizes,
  scale: number,
  ml: Scratch,
): Float32Array {
  const { numKvHeads: NKV, headDim: HS, blockSize } = sizes;
  const w = new Float32Array(pos + 1);
  for (let j = 0; j <= pos; j++) {
    const kOff = (slotOf(blockTable, j, blockSize) * NKV + g) * HS;
    let dot = 0;
    for (let d = 0; d < HS; d++) dot += q[qOff + d] * kPool[kOff + d];
    w[j] = Math.exp(dot * scale - ml.m) / ml.l; // s_j = scale * q . k_j
  }
  return w;
}

function checkBlockTable(table: ArrayLike<number>, needed: number, numBlocks: number, seqIndex: number): void {
  if (table.length < needed) {
    throw new RangeError(`sequence ${seqIndex}: block table has ${table.length} blocks, positions need ${needed}`);
  }
  for (let b = 0; b < needed; b++) {
    const id = table[b];
    if (!Number.isInteger(id) || id < 0 || id >= numBlocks) {
      throw new RangeError(`sequence ${seqIndex}: blockTable[${b}] = ${id} is outside the pool (0..${numBlocks - 1})`);
    }
  }
}

/** Per-call work buffers: one block's scores, the output accumulator, and the last row's final m and l. */
interface Scratch {
  s: Float64Array;
  acc: Float64Array;
  m: number;
  l: number;
}

/** One (query row, head): online softmax over the blocks covering positions 0..pos. */
function attendOne(
  out: Float32Array,
  q: Float32Array,
  kPool: Float32Array,
  vPool: Float32Array,
  qOff: number,
  g: number,
  pos: number,
  blockTable: ArrayLike<number>,
  sizes: PagedAttentionSizes,
  scale: number,
  scratch: Scratch,
): void {
  const { numKvHeads: NKV, headDim: HS, blockSize } = sizes;
  const { s, acc } = scratch;
  acc.fill(0);
  let m = -Infinity; // running max of scores seen so far
  let l = 0; // running sum of e^(score - m)
  const numCtxBlocks = Math.floor(pos / blockSize) + 1;
  for (let b = 0; b < numCtxBlocks; b++) {
    const n = Math.min(blockSize, pos + 1 - b * blockSize); // valid slots in this block (causal limit)
    const slot0 = slotOf(blockTable, b * blockSize, blockSize);
    // S = scale * q . K_block^T : (HS) x (n, HS) -> (n)
    let blockMax = -Infinity;
    for (let j = 0; j < n; j++) {
      const kOff = ((slot0 + j) * NKV + g) * HS;
      let dot = 0;
      for (let d = 0; d < HS; d++) dot += q[qOff + d] * kPool[kOff + d];
      s[j] = dot * scale;
      if (s[j] > blockMax) blockMax = s[j];
    }
    // m' = max(m, rowmax(S)); l' = e^(m - m') l + rowsum(e^(S - m')); acc' = e^(m - m') acc + P V
    const mNew = Math.max(m, blockMax);
    const correction = Math.exp(m - mNew); // e^(-inf) = 0 on the first block
    l *= correction;
    for (let d = 0; d < HS; d++) acc[d] *= correction;
    for (let j = 0; j < n; j++) {
      const p = Math.exp(s[j] - mNew);
      l += p;
      const vOff = ((slot0 + j) * NKV + g) * HS;
      for (let d = 0; d < HS; d++) acc[d] += p * vPool[vOff + d];
    }
    m = mNew;
  }
  // out = acc / l
  const inv = 1 / l;
  for (let d = 0; d < HS; d++) out[qOff + d] = acc[d] * inv;
  scratch.m = m;
  scratch.l = l;
}
