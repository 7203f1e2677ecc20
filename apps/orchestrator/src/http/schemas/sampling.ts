/*
 * The sampling and stopping fields OpenAI's completions and chat bodies share, with vLLM's extra
 * fields (top_k, min_p, repetition_penalty, min_tokens, ignore_eos, stop_token_ids,
 * skip_special_tokens), as one zod object to `.extend()`; and their mapping onto
 * llm.inference.v1 SamplingParams. max_tokens and logprobs differ per endpoint and live there.
 *
 * What it is not: the ranges (api/request-rules.ts) or the defaults (api/params.ts).
 * Reference: OpenAI API reference; vLLM's OpenAI-compatible server (extra sampling params).
 */
import { z } from 'zod';
import type { inference } from '@llm/proto';
import { SAMPLING_RULES, TEXT_LIMITS } from '../../api/request-rules';
import { bool, boundedList, describe, ruled, sampling, seed, text, tokenId } from './fields';

/** stop: one string or a list of them. */
const stop = z
  .union([text(TEXT_LIMITS.stopChars), boundedList(text(TEXT_LIMITS.stopChars), TEXT_LIMITS.stopStrings, 'a list of strings')], {
    error: (iss) => `must be a string or a list of strings, got ${describe(iss.input)}`,
  })
  .nullish();

/** logit_bias: {"token id": bias in [-100, 100]}. */
const logitBias = z
  .record(z.string().regex(/^\d{1,10}$/, { error: 'keys must be token ids (decimal integers)' }), ruled(SAMPLING_RULES.logit_bias), {
    error: (iss) => `must be an object of token id -> bias, got ${describe(iss.input)}`,
  })
  .superRefine((v, ctx) => {
    const n = Object.keys(v).length;
    if (n > TEXT_LIMITS.logitBiasEntries) ctx.addIssue({ code: 'custom', message: `must have at most ${TEXT_LIMITS.logitBiasEntries} entries, got ${n}` });
  })
  .nullish();

export const samplingFieldsSchema = z.object({
  temperature: sampling('temperature'),
  top_p: sampling('top_p'),
  top_k: sampling('top_k'),
  min_p: sampling('min_p'),
  repetition_penalty: sampling('repetition_penalty'),
  presence_penalty: sampling('presence_penalty'),
  frequency_penalty: sampling('frequency_penalty'),
  seed,
  stop,
  stop_token_ids: boundedList(tokenId, TEXT_LIMITS.stopTokenIds, 'a list of token ids').nullish(),
  n: sampling('n'),
  min_tokens: sampling('min_tokens'),
  ignore_eos: bool(),
  logit_bias: logitBias,
  skip_special_tokens: bool(),
});

export type SamplingFields = z.infer<typeof samplingFieldsSchema>;

/** The parsed fields as SamplingParams (max_tokens and logprobs are set by the endpoint). */
export function toSamplingParams(b: SamplingFields, maxTokens: number | null | undefined, extraStop: readonly string[]): inference.SamplingParams {
  const stops = b.stop === undefined || b.stop === null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop;
  const bias: Record<number, number> = {};
  for (const [k, v] of Object.entries(b.logit_bias ?? {})) bias[Number(k)] = v;
  return {
    temperature: b.temperature ?? undefined,
    topP: b.top_p ?? undefined,
    topK: b.top_k === -1 ? 0 : (b.top_k ?? undefined),
    minP: b.min_p ?? undefined,
    repetitionPenalty: b.repetition_penalty ?? undefined,
    presencePenalty: b.presence_penalty ?? undefined,
    frequencyPenalty: b.frequency_penalty ?? undefined,
    seed: b.seed === undefined || b.seed === null ? undefined : String(b.seed),
    stop: [...stops, ...extraStop],
    stopTokenIds: b.stop_token_ids ?? [],
    maxTokens: maxTokens ?? undefined,
    minTokens: b.min_tokens ?? undefined,
    n: b.n ?? undefined,
    topLogprobs: undefined,
    logprobs: false,
    ignoreEos: b.ignore_eos ?? false,
    logitBias: bias,
    skipSpecialTokens: b.skip_special_tokens ?? undefined,
  };
}
