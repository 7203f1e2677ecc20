/*
 * The benchmark's model and step batches: a SmolLM-135M-shaped llama with random weights
 * generated in memory (hidden 576, 30 layers, 9 heads, 3 kv heads, intermediate 1536, vocab
 * 49152, tied embeddings), a KV pool, and FlatBatches for single-sequence prefill and batched
 * decode. Not a model file: nothing is read from disk.
 * Shape per HuggingFaceTB/SmolLM-135M's config.json.
 */
import { createKvPool, makeConfig, randomWeights, type FlatBatch, type KvPool, type ModelConfig, type ModelWeights } from '@llm/model';

export const SMOLLM_135M = {
  hidden_size: 576,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  intermediate_size: 1536,
  vocab_size: 49152,
  max_position_embeddings: 2048,
  rope_theta: 10000,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
};

export function smolLmModel(seed = 1): { config: ModelConfig; weights: ModelWeights } {
  const config = makeConfig('llama', SMOLLM_135M);
  return { config, weights: randomWeights(config, seed) };
}

export const BLOCK_SIZE = 16;

/** A pool with room for `numSeqs` sequences of `maxContext` tokens each (+ the null block 0). */
export function benchPool(config: ModelConfig, numSeqs: number, maxContext: number): KvPool {
  const blocksPerSeq = Math.ceil(maxContext / BLOCK_SIZE);
  return createKvPool({
    numBlocks: 1 + numSeqs * blocksPerSeq,
    blockSize: BLOCK_SIZE,
    numLayers: config.numLayers,
    numKvHeads: config.numKvHeads,
    headDim: config.headDim,
  });
}

/** Sequence s owns blocks 1 + s*blocksPerSeq ... (disjoint per sequence). */
function blockTable(s: number, maxContext: number): Int32Array {
  const blocksPerSeq = Math.ceil(maxContext / BLOCK_SIZE);
  return Int32Array.from({ length: blocksPerSeq }, (_, i) => 1 + s * blocksPerSeq + i);
}

const slotOf = (table: Int32Array, p: number) => table[Math.floor(p / BLOCK_SIZE)] * BLOCK_SIZE + (p % BLOCK_SIZE);

/** One sequence's prompt of n tokens from position 0; logits of its last token. */
export function prefillBatch(n: number, vocab: number, maxContext: number): FlatBatch {
  const table = blockTable(0, maxContext);
  return {
    tokenIds: Int32Array.from({ length: n }, (_, i) => (i * 7919 + 13) % vocab),
    positions: Int32Array.from({ length: n }, (_, i) => i),
    slotMapping: Int32Array.from({ length: n }, (_, i) => slotOf(table, i)),
    seqs: [{ start: 0, numNewTokens: n, contextLen: n, blockTable: table }],
    logitRows: Int32Array.of(n - 1),
  };
}

/** B sequences decoding one token each at position `context` (their first `context` tokens cached). */
export function decodeBatch(b: number, context: number, vocab: number, maxContext: number): FlatBatch {
  const tables = Array.from({ length: b }, (_, s) => blockTable(s, maxContext));
  return {
    tokenIds: Int32Array.from({ length: b }, (_, s) => (s * 104729 + context) % vocab),
    positions: new Int32Array(b).fill(context),
    slotMapping: Int32Array.from({ length: b }, (_, s) => slotOf(tables[s], context)),
    seqs: tables.map((blockTable, s) => ({ start: s, numNewTokens: 1, contextLen: context + 1, blockTable })),
    logitRows: Int32Array.from({ length: b }, (_, s) => s),
  };
}
