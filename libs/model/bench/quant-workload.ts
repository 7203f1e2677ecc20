/*
 * What the quantization bench runs: a SmolLM-135M-shaped llama with random weights (hidden 576,
 * 30 layers, 9/3 heads, intermediate 1536, vocab 49152, tied head), its KV pool, decode and
 * prefill batches, and a median-of-rounds timer that runs every variant once per round, so each
 * sees the same machine load. Not a model file: nothing is read from disk.
 * Shape per HuggingFaceTB/SmolLM-135M's config.json.
 */
import { loadavg } from 'node:os';
import { createKvPool, makeConfig, randomWeights, type FlatBatch, type KvPool, type ModelConfig, type ModelWeights } from '../src';

export const SMOLLM_135M = {
  hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536,
  vocab_size: 49152, max_position_embeddings: 2048, rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: true,
};

export function smolLm(seed = 1): { config: ModelConfig; weights: ModelWeights } {
  const config = makeConfig('llama', SMOLLM_135M);
  return { config, weights: randomWeights(config, seed) };
}

const BLOCK = 16;

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
    tokenIds: Int32Array.from({ length: n }, (_, i) => (i * 7919 + 13) % vocab),
    positions: Int32Array.from({ length: n }, (_, i) => i),
    slotMapping: Int32Array.from({ length: n }, (_, i) => slot(t, i)),
    seqs: [{ start: 0, numNewTokens: n, contextLen: n, blockTable: t }],
    logitRows: Int32Array.of(n - 1),
  };
}

/** b sequences, each decoding its token at position `context` (cached context before it). */
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

export const progress = (msg: string): void => void process.stderr.write(`[quant bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
export const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of each runner: one warm-up each, then `rounds` rounds of one call per runner. */
export async function roundRobin(runners: Array<(round: number) => Promise<unknown>>, rounds: number): Promise<number[]> {
  const times = runners.map(() => [] as number[]);
  for (const r of runners) await r(-1);
  for (let k = 0; k < rounds; k++) {
    for (let i = 0; i < runners.length; i++) {
      const t0 = nowMs();
      await runners[i](k);
      times[i].push(nowMs() - t0);
    }
  }
  return times.map(median);
}
