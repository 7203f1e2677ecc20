/**
 * The reference the container tests compare against: greedy decoding with libs/model's Transformer
 * (plain TypeScript kernels, KV cache) of the same model directory, with the smallest top-2 logit
 * gap seen, so a test can assert the comparison is away from near-ties.
 *
 * Not a test itself; not the serving path (that runs the ONNX Runtime backend in the worker).
 */
import { loadModelDir, Transformer } from '@llm/model';

/** Float32 accumulation-order differences between backends stay well below this (logit units). */
export const TIE_TOLERANCE = 1e-3;

export async function referenceGreedy(modelDir: string, prompt: number[], numTokens: number): Promise<{ tokens: number[]; minMargin: number }> {
  const loaded = await loadModelDir(modelDir);
  const model = new Transformer(loaded.config, loaded.weights);
  const V = loaded.config.vocabSize;
  const cache = model.newCache();
  let logits = await model.forward(prompt, cache, { lastOnly: true }); // (1, V)
  const tokens: number[] = [];
  let minMargin = Infinity;
  for (let i = 0; i < numTokens; i++) {
    let top1 = 0;
    for (let v = 1; v < V; v++) if (logits[v] > logits[top1]) top1 = v;
    let top2 = -Infinity;
    for (let v = 0; v < V; v++) if (v !== top1 && logits[v] > top2) top2 = logits[v];
    minMargin = Math.min(minMargin, logits[top1] - top2); // gap between the best and second-best logit
    tokens.push(top1);
    if (i + 1 < numTokens) logits = await model.forward([top1], cache, { lastOnly: true });
  }
  return { tokens, minMargin };
}
