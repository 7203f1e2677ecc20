/*
 * echo with logprobs (completions): the prompt's tokens come first in each choice's logprobs, as
 * OpenAI returns them and evaluation harnesses read them: the first prompt token has no logprob
 * (null), each later one the logprob the model gives it after the tokens before it, with the top
 * alternatives; then the generated tokens. text_offset runs over the prompt text and the output.
 *
 * What it is not: the scoring itself (the worker's prompt logprobs).
 */
import type { inference } from '@llm/proto';
import type { ModelFacts } from '../api/model-facts';

type CompletionLogprobs = { tokens: string[]; token_logprobs: (number | null)[]; top_logprobs: (Record<string, number> | null)[]; text_offset: number[] };

/** The prompt's token ids as the server encodes them. */
export function promptIdsOf(facts: ModelFacts, r: inference.GenerateRequest): number[] {
  return r.promptTokenIds.length > 0 ? r.promptTokenIds : facts.tokenizer.encode(r.prompt);
}

/** Prepends the prompt's entries to a choice's completion logprobs (or builds them from nothing). */
export function withPromptLogprobs(facts: ModelFacts, promptIds: number[], scored: inference.TokenLogprob[], rest: CompletionLogprobs | null): CompletionLogprobs {
  const tokens = promptIds.map((id) => facts.tokenizer.decode([id]));
  const out: CompletionLogprobs = {
    tokens: [...tokens, ...(rest?.tokens ?? [])],
    token_logprobs: [null, ...scored.map((s) => s.logprob), ...(rest?.token_logprobs ?? [])],
    top_logprobs: [null, ...scored.map((s) => Object.fromEntries(s.topLogprobs.map((t) => [t.token, t.logprob]))), ...(rest?.top_logprobs ?? [])],
    text_offset: [],
  };
  let at = 0;
  for (const t of out.tokens) {
    out.text_offset.push(at);
    at += t.length;
  }
  return out;
}
