/*
 * What `llm bench` runs on: the SmolLM-135M shape (hidden 576, 30 layers, 9/3 heads,
 * intermediate 1536, vocab 49152, tied embeddings; HuggingFaceTB/SmolLM-135M's config.json) with
 * random weights, or a model directory (models/default); KV pools, decode and prefill batches;
 * and the bytes one step reads (weights + KV), the numerator of the roofline fraction.
 * The SmolLM model can also be written to disk (config.json, model.safetensors and a
 * tokenizer.json whose ids all decode: 256 bytes + two-byte merges + <|endoftext|>) for the end
 * to end section, which serves it with `llm serve`.
 * Not a model zoo: throughput does not depend on the weights' values or the tokenizer's merges.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKvPool, makeConfig, randomWeights, saveModelDir, type FlatBatch, type KvPool, type ModelConfig, type ModelWeights, type QuantFormat } from '@llm/model';
import { GPT2_PATTERN, toTokenizerJson, type TrainedBpe } from '@llm/tokenizer';

export const SMOLLM_135M = {
  hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536,
  vocab_size: 49152, max_position_embeddings: 2048, rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: true,
  bos_token_id: 49151, eos_token_id: 49151,
};

export interface BenchModel {
  name: string;
  config: ModelConfig;
  weights: ModelWeights;
}

/** The SmolLM-135M shape with random weights (`layers` overrides the depth for --quick). */
export function smolLmModel(layers = SMOLLM_135M.num_hidden_layers, seed = 1): BenchModel {
  const config = makeConfig('llama', { ...SMOLLM_135M, num_hidden_layers: layers });
  return { name: layers === SMOLLM_135M.num_hidden_layers ? 'SmolLM-135M shape' : `SmolLM-135M shape, ${layers} layers`, config, weights: randomWeights(config, seed) };
}

/** Byte-level BPE with exactly `vocabSize` ids: merges of two single bytes, printable ASCII pairs first. */
function twoByteTokenizer(vocabSize: number): TrainedBpe {
  const order: number[] = [];
  for (let b = 32; b < 127; b++) order.push(b);
  for (let b = 0; b < 256; b++) if (b < 32 || b >= 127) order.push(b);
  const merges: Array<[number, number]> = [];
  const tokenBytes: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  const numMerges = vocabSize - 257;
  outer: for (const a of order) {
    for (const b of order) {
      if (merges.length === numMerges) break outer;
      merges.push([a, b]);
      tokenBytes.push(Uint8Array.of(a, b));
    }
  }
  return { vocabSize, pattern: GPT2_PATTERN, merges, tokenBytes, specialTokens: [{ content: '<|endoftext|>', id: vocabSize - 1 }] };
}

/** Writes the model as a directory `llm serve --model` loads (F32 safetensors + tokenizer.json). */
export function writeBenchModelDir(m: BenchModel, dir: string): void {
  saveModelDir(dir, m.config, m.weights, { tokenizerJson: toTokenizerJson(twoByteTokenizer(m.config.vocabSize)) });
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: m.config.eosTokenIds[0] ?? m.config.vocabSize - 1 }));
}

export const BLOCK = 16;

/** A pool with `numSeqs` disjoint block tables of maxContext tokens each (block 0 is the null block). */
export function benchPool(c: ModelConfig, numSeqs: number, maxContext: number): KvPool {
  const perSeq = Math.ceil(maxContext / BLOCK);
  return createKvPool({ numBlocks: 1 + numSeqs * perSeq, blockSize: BLOCK, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim });
}

function table(s: number, maxContext: number): Int32Array {
  const perSeq = Math.ceil(maxContext / BLOCK);
  return Int32Array.from({ length: perSeq }, (_, i) => 1 + s * perSeq + i);
}
const slot = (t: Int32Array, p: number) => t[Math.floor(p / BLOCK)] * BLOCK + (p % BLOCK);

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

export type BenchFormat = 'f32' | QuantFormat;

/** Bytes per weight of a format: F32 4; Q8_0 34/32 (32 int8 + an f16 scale); Q4_0 18/32. */
export const bytesPerWeight = (f: BenchFormat): number => (f === 'f32' ? 4 : f === 'q8_0' ? 34 / 32 : 18 / 32);

/**
 * Weight bytes one step reads: every linear matrix once, the LM head (V x C; in Q8_0 under both
 * quantized formats, as quantizeModelWeights keeps it by default) and one embedding row per token
 * (negligible). Norms are ignored (a few KB).
 */
export function weightBytesPerStep(c: ModelConfig, f: BenchFormat): number {
  const { hiddenSize: C, intermediateSize: I, numHeads: NH, numKvHeads: NKV, headDim: HS, vocabSize: V, numLayers: L } = c;
  const perLayer = C * (NH + 2 * NKV) * HS + NH * HS * C + 3 * C * I; // q,k,v + o + gate,up,down
  return L * perLayer * bytesPerWeight(f) + V * C * bytesPerWeight(f === 'f32' ? 'f32' : 'q8_0');
}

/** KV bytes a step reads: K and V of every cached position of every sequence, every layer, f32. */
export function kvBytesPerStep(c: ModelConfig, cachedTokens: number): number {
  return cachedTokens * c.numLayers * 2 * c.numKvHeads * c.headDim * 4;
}
