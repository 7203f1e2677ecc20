/*
 * What `llm bench` runs on: the SmolLM-135M shape (hidden 576, 30 layers, 9/3 heads,
 * intermediate 1536, vocab 49152, tied embeddings; HuggingFaceTB/SmolLM-135M's config.json) with
 * random weights, or a model directory (models/default); KV pools, decode and prefill batches;
 * and the bytes one step reads (weights + KV), the numerator of the roofline fraction. The shape, its
 * tokenizer and the step inputs come from @llm/model's workloads (shared with the other benches).
 * The SmolLM model can also be written to disk (config.json, model.safetensors and a
 * tokenizer.json whose ids all decode: 256 bytes + two-byte merges + <|endoftext|>) for the end
 * to end section, which serves it with `llm serve`.
 * Not a model zoo: throughput does not depend on the weights' values or the tokenizer's merges.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMOLLM_135M, saveModelDir, smolLmShape, twoByteTokenizer, type ModelConfig, type ModelWeights, type QuantFormat } from '@llm/model';
import { toTokenizerJson } from '@llm/tokenizer';

export { SMOLLM_135M, BENCH_BLOCK as BLOCK, benchPool, decodeBatch, prefillBatch } from '@llm/model';

export interface BenchModel {
  name: string;
  config: ModelConfig;
  weights: ModelWeights;
}

/** The SmolLM-135M shape with random weights (`layers` overrides the depth for --quick). */
export function smolLmModel(layers = SMOLLM_135M.num_hidden_layers, seed = 1): BenchModel {
  const { config, weights } = smolLmShape(layers, seed);
  return { name: layers === SMOLLM_135M.num_hidden_layers ? 'SmolLM-135M shape' : `SmolLM-135M shape, ${layers} layers`, config, weights };
}

/** Writes the model as a directory `llm serve --model` loads (F32 safetensors + tokenizer.json). */
export function writeBenchModelDir(m: BenchModel, dir: string): void {
  saveModelDir(dir, m.config, m.weights, { tokenizerJson: toTokenizerJson(twoByteTokenizer(m.config.vocabSize)) });
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: m.config.eosTokenIds[0] ?? m.config.vocabSize - 1 }));
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
