/*
 * The benchmark's model: a SmolLM-135M-shaped llama (hidden 576, 30 layers, 9 heads, 3 kv heads,
 * intermediate 1536, vocab 49152, tied embeddings; HuggingFaceTB/SmolLM-135M's config.json) with
 * random weights in memory, and a model directory holding only what the orchestrator reads:
 * config.json and a tokenizer.json whose 49152 ids all decode (256 bytes, 48895 two-byte merges,
 * <|endoftext|> last). The weights never touch the disk: the worker gets them in memory.
 * What it is not: a real checkpoint or a trained tokenizer (throughput does not depend on either).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GENERATION, defaultHfConfig, makeConfig, randomWeights, type LoadedModel } from '@llm/model';
import { GPT2_PATTERN, toTokenizerJson, type TrainedBpe } from '@llm/tokenizer';

export const SMOLLM_135M = {
  hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536,
  vocab_size: 49152, max_position_embeddings: 2048, rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: true,
  bos_token_id: 49151, eos_token_id: 49151,
};

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

/** The in-memory model and a directory with its config.json and tokenizer.json. */
export function smolLm(seed = 1): { model: LoadedModel; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'orch-bench-smollm-'));
  const hf = { ...defaultHfConfig('llama'), ...SMOLLM_135M };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hf));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(toTokenizerJson(twoByteTokenizer(SMOLLM_135M.vocab_size))));
  const config = makeConfig('llama', SMOLLM_135M);
  const model: LoadedModel = {
    dir, config, weights: randomWeights(config, seed), tokenizerPath: join(dir, 'tokenizer.json'), unusedTensors: [],
    generation: { ...DEFAULT_GENERATION, eosTokenIds: [...config.eosTokenIds], bosTokenId: config.bosTokenId },
  };
  return { model, dir };
}
