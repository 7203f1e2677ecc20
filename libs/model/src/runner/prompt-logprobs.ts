/*
 * Prompt logprobs: for a chunk of prompt tokens at positions start .. start + n - 1, the logits of
 * position p score the prompt token at p + 1: log_softmax(logits_p)[prompt[p + 1]], from the raw
 * logits (no penalties, bias or temperature), with the k most likely tokens at that position.
 * Evaluation harnesses sum these (loglikelihood) and compare the top token (is the prompt greedy).
 *
 * What it is not: the sampler's logprobs (sampler.ts), which are of generated tokens.
 */
import { topK } from '@llm/tensor';
import type { PromptTokenLogprob } from './step-types';

/** logits: (R, V); rows row0 .. row0 + n - 1 are the chunk's positions start .. start + n - 1. */
export function promptLogprobsOf(logits: Float32Array, V: number, row0: number, start: number, n: number, prompt: ArrayLike<number>, k: number): PromptTokenLogprob[] {
  const out: PromptTokenLogprob[] = [];
  for (let t = 0; t < n; t++) {
    const p = start + t;
    if (p + 1 >= prompt.length) break;
    const row = logits.subarray((row0 + t) * V, (row0 + t + 1) * V); // (V)
    let m = -Infinity;
    for (let i = 0; i < V; i++) if (row[i] > m) m = row[i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(row[i] - m);
    const lse = m + Math.log(sum); // log sum_i e^{l_i}
    const target = prompt[p + 1];
    const top = k > 0 ? topK(row, k) : null;
    out.push({
      tokenId: target,
      logprob: row[target] - lse,
      topLogprobs: top ? Array.from(top.indices, (id, j) => ({ tokenId: id, logprob: top.values[j] - lse })) : [],
    });
  }
  return out;
}
