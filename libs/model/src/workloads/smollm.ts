/*
 * The benchmarks' model shape: SmolLM-135M (hidden 576, 30 layers, 9 query / 3 key-value heads,
 * intermediate 1536, vocab 49152, tied embeddings; HuggingFaceTB/SmolLM-135M's config.json) with
 * random weights, and a byte-level BPE tokenizer whose 49152 ids all decode (256 bytes, two-byte
 * merges with printable ASCII pairs first, <|endoftext|> last), so a served copy of the shape
 * detokenizes every id. Shared by `llm bench`, the orchestrator's benches and model:bench-quant.
 * What it is not: a real checkpoint or a trained tokenizer (throughput depends on neither).
 */
import { GPT2_PATTERN, type TrainedBpe } from '@llm/tokenizer';
import type { ModelConfig } from '../config/model-config';
import { makeConfig, randomWeights } from '../init-random';
import type { ModelWeights } from '../weights/names';

/** SmolLM-135M's config.json fields (Hugging Face names). */
export const SMOLLM_135M = {
  hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536,
  vocab_size: 49152, max_position_embeddings: 2048, rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: true,
  bos_token_id: 49151, eos_token_id: 49151,
};

/** The SmolLM-135M shape with random weights; `layers` overrides the depth (smoke runs). */
export function smolLmShape(layers = SMOLLM_135M.num_hidden_layers, seed = 1): { config: ModelConfig; weights: ModelWeights } {
  const config = makeConfig('llama', { ...SMOLLM_135M, num_hidden_layers: layers });
  return { config, weights: randomWeights(config, seed) };
}

/** Byte-level BPE with exactly `vocabSize` ids: merges of two single bytes, printable ASCII pairs first. */
export function twoByteTokenizer(vocabSize: number): TrainedBpe {
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
