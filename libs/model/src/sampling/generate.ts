/**
 * Single-sequence generation with the reference Transformer: prefill the prompt into a KV cache,
 * then decode one token at a time, sampling with u = uniformFromCounter(seed, sampleIndex,
 * output position). Stops at an EOS / stop token id (included in the output, as HF does) or at
 * maxTokens. This is the reference the platform's scheduler + worker path is compared with.
 */
import type { Transformer } from '../transformer';
import { uniformFromCounter } from './counter-rng';
import { SamplingParams, newSamplingState, recordOutputToken, validateSamplingParams } from './params';
import { SampleResult, sampleToken, topTwoMargin } from './sampler';

export interface GenerateOptions {
  maxTokens: number;
  sampling: SamplingParams;
  /** token ids that end generation (EOS and any others) */
  stopTokenIds?: number[];
  /** which of several samples of the same prompt this is (the RNG's second counter) */
  sampleIndex?: number;
  /** called after each token */
  onToken?: (result: SampleResult, index: number) => void;
}

export interface GenerateResult {
  tokens: number[];
  finishReason: 'stop' | 'length';
  /** per output token: its logprob and top logprobs */
  samples: SampleResult[];
  /** per output token: top-1 minus top-2 logit of the raw logits (greedy near-tie check) */
  margins: number[];
}

export async function generate(model: Transformer, prompt: number[], opts: GenerateOptions): Promise<GenerateResult> {
  if (prompt.length === 0) throw new Error('generate: the prompt is empty (expected at least one token)');
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 0) throw new Error(`generate: maxTokens=${opts.maxTokens} is invalid (expected an integer >= 0)`);
  validateSamplingParams(opts.sampling, model.config.vocabSize);
  const seed = opts.sampling.seed ?? Math.floor(Math.random() * 2 ** 52);
  const stop = new Set(opts.stopTokenIds ?? []);
  const state = newSamplingState(prompt);
  const cache = model.newCache();
  const result: GenerateResult = { tokens: [], finishReason: 'length', samples: [], margins: [] };
  let input = prompt;
  for (let i = 0; i < opts.maxTokens; i++) {
    if (cache.length + input.length > model.config.maxPositions) break;
    const logits = await model.forward(input, cache, { lastOnly: true }); // (1, V)
    const u = uniformFromCounter(seed, opts.sampleIndex ?? 0, i);
    const r = sampleToken(logits, opts.sampling, state, u);
    recordOutputToken(state, r.token);
    result.tokens.push(r.token);
    result.samples.push(r);
    result.margins.push(topTwoMargin(logits));
    opts.onToken?.(r, i);
    if (stop.has(r.token)) {
      result.finishReason = 'stop';
      break;
    }
    input = [r.token];
  }
  return result;
}
