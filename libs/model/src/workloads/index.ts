/** Synthetic benchmark workloads: the SmolLM-135M shape with random weights, its tokenizer, kernel step inputs. */
export { SMOLLM_135M, smolLmShape, twoByteTokenizer } from './smollm';
export { BENCH_BLOCK, benchPool, decodeBatch, prefillBatch } from './batches';
