/*
 * Step inputs for kernel benchmarks: a KV pool with disjoint block tables, a prefill batch (one
 * sequence's prompt from position 0) and a decode batch (b sequences, one token each at a given
 * cached context). Block 0 is the null block; 16-token blocks. Token ids are arbitrary but fixed.
 * What it is not: a scheduler (no allocation, no prefix cache).
 */
import type { ModelConfig } from '../config/model-config';
import { createKvPool } from '../runner/kv-pool';
import type { FlatBatch, KvPool } from '../runner/types';

export const BENCH_BLOCK = 16;

/** A pool with `numSeqs` disjoint block tables of maxContext tokens each (block 0 is the null block). */
export function benchPool(c: ModelConfig, numSeqs: number, maxContext: number): KvPool {
  const perSeq = Math.ceil(maxContext / BENCH_BLOCK);
  return createKvPool({ numBlocks: 1 + numSeqs * perSeq, blockSize: BENCH_BLOCK, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim });
}

function table(s: number, maxContext: number): Int32Array {
  const perSeq = Math.ceil(maxContext / BENCH_BLOCK);
  return Int32Array.from({ length: perSeq }, (_, i) => 1 + s * perSeq + i);
}
const slot = (t: Int32Array, p: number) => t[Math.floor(p / BENCH_BLOCK)] * BENCH_BLOCK + (p % BENCH_BLOCK);

/** Sequence s's n-token prompt from position 0; logits of its last token. */
export function prefillBatch(n: number, vocab: number, maxContext: number, s = 0): FlatBatch {
  const t = table(s, maxContext);
  return {
    tokenIds: Int32Array.from({ length: n }, (_, i) => (i * 7919 + 13 + s) % vocab),
    positions: Int32Array.from({ length: n }, (_, i) => i),
    slotMapping: Int32Array.from({ length: n }, (_, i) => slot(t, i)),
    seqs: [{ start: 0, numNewTokens: n, contextLen: n, blockTable: t }],
    logitRows: Int32Array.of(n - 1),
  };
}

/** b sequences, each decoding one token at position `context` (context cached tokens before it). */
export function decodeBatch(b: number, context: number, vocab: number, maxContext: number): FlatBatch {
  const seqs = Array.from({ length: b }, (_, s) => ({ start: s, numNewTokens: 1, contextLen: context + 1, blockTable: table(s, maxContext) }));
  return {
    tokenIds: Int32Array.from({ length: b }, (_, s) => (s * 31 + context) % vocab),
    positions: Int32Array.from({ length: b }, () => context),
    slotMapping: Int32Array.from(seqs, (q) => slot(q.blockTable, context)),
    seqs,
    logitRows: Int32Array.from({ length: b }, (_, s) => s),
  };
}
