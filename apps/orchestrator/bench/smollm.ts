/*
 * The benchmark's model: a SmolLM-135M-shaped llama (hidden 576, 30 layers, 9 heads, 3 kv heads,
 * intermediate 1536, vocab 49152, tied embeddings; HuggingFaceTB/SmolLM-135M's config.json) with
 * random weights in memory, and a model directory holding only what the orchestrator reads:
 * config.json and a tokenizer.json whose 49152 ids all decode (256 bytes, 48895 two-byte merges,
 * <|endoftext|> last). The weights never touch the disk: the worker gets them in memory.
 * smolLmWorker adds what both orchestrator benches run it on: an ORT ModelRunner with a pool of
 * NUM_BLOCKS blocks of BLOCK_SIZE tokens, and the kv-manager's pools with it registered as worker-0.
 * What it is not: a real checkpoint or a trained tokenizer (throughput does not depend on either).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvPools } from '@llm/kv';
import { bytesPerBlock, createModelRunner, DEFAULT_GENERATION, defaultHfConfig, makeConfig, randomWeights, SMOLLM_135M, twoByteTokenizer, type LoadedModel, type ModelRunner } from '@llm/model';
import { toTokenizerJson } from '@llm/tokenizer';

export { SMOLLM_135M };

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

export const BLOCK_SIZE = 16;
export const NUM_BLOCKS = 320;

/** smolLm's model on an ORT runner (NUM_BLOCKS blocks, batches up to 64 sequences / 2048 tokens), its pool registered as worker-0. */
export async function smolLmWorker(): Promise<{ model: LoadedModel; dir: string; runner: ModelRunner; pools: KvPools }> {
  const { model, dir } = smolLm();
  const c = model.config;
  const per = bytesPerBlock({ blockSize: BLOCK_SIZE, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim });
  const runner = await createModelRunner(model, { backend: 'ort', threads: 2, kvCacheBytes: per * NUM_BLOCKS, blockSize: BLOCK_SIZE, maxBatchSequences: 64, maxBatchTokens: 2048 });
  const pools = new KvPools();
  pools.registerPool('worker-0', { numBlocks: runner.pool.numBlocks, blockSize: BLOCK_SIZE });
  return { model, dir, runner, pools };
}
