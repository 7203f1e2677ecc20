/*
 * GenerateResponse deltas -> OpenAI response objects: text_completion and chat.completion (whole),
 * their streamed chunk forms, logprobs in each endpoint's own shape, and usage.
 * Reference: OpenAI API reference (completions, chat completions, streaming chunks).
 * What it is not: the server loop (openai-server.ts).
 */
import { inference } from '@llm/proto';

export type Kind = 'completion' | 'chat';

const FINISH: Record<number, string | null> = {
  [inference.FinishReason.FINISH_REASON_UNSPECIFIED]: null,
  [inference.FinishReason.FINISH_REASON_STOP]: 'stop',
  [inference.FinishReason.FINISH_REASON_LENGTH]: 'length',
  [inference.FinishReason.FINISH_REASON_ABORT]: 'abort',
  [inference.FinishReason.FINISH_REASON_TOOL_CALLS]: 'tool_calls',
};

export function finishName(r: inference.FinishReason): string | null {
  return FINISH[r] ?? null;
}

export function usageOf(u: inference.Usage | undefined) {
  const p = u?.promptTokens ?? 0;
  const c = u?.completionTokens ?? 0;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c, prompt_tokens_details: { cached_tokens: u?.cachedPromptTokens ?? 0 } };
}

const bytesOf = (s: string) => [...Buffer.from(s, 'utf8')];

/** Completions' logprobs: parallel lists (tokens, token_logprobs, top_logprobs, text_offset). */
export function completionLogprobs(lps: inference.TokenLogprob[], textOffset: number) {
  const offsets: number[] = [];
  let at = textOffset;
  for (const lp of lps) {
    offsets.push(at);
    at += lp.token.length;
  }
  return {
    tokens: lps.map((l) => l.token),
    token_logprobs: lps.map((l) => l.logprob),
    top_logprobs: lps.map((l) => Object.fromEntries(l.topLogprobs.map((t) => [t.token, t.logprob]))),
    text_offset: offsets,
  };
}

/** Chat's logprobs: {content: [{token, logprob, bytes, top_logprobs}]}. */
export function chatLogprobs(lps: inference.TokenLogprob[]) {
  return {
    content: lps.map((l) => ({
      token: l.token,
      logprob: l.logprob,
      bytes: bytesOf(l.token),
      top_logprobs: l.topLogprobs.map((t) => ({ token: t.token, logprob: t.logprob, bytes: bytesOf(t.token) })),
    })),
  };
}

export interface Envelope {
  id: string;
  created: number;
  model: string;
}

/** One streamed chunk of one sample. */
export function chunkOf(kind: Kind, env: Envelope, d: inference.GenerateResponse, wantLogprobs: boolean, textOffset: number, first: boolean) {
  const finish = finishName(d.finishReason);
  if (kind === 'completion') {
    return {
      ...env,
      object: 'text_completion',
      choices: [{ index: d.index, text: d.text, logprobs: wantLogprobs ? completionLogprobs(d.logprobs, textOffset) : null, finish_reason: finish, stop_reason: stopReasonOf(d) }],
    };
  }
  const delta: Record<string, string> = first ? { role: 'assistant', content: d.text } : d.text ? { content: d.text } : {};
  return {
    ...env,
    object: 'chat.completion.chunk',
    choices: [{ index: d.index, delta, logprobs: wantLogprobs ? chatLogprobs(d.logprobs) : null, finish_reason: finish }],
  };
}

export function usageChunk(kind: Kind, env: Envelope, u: inference.Usage | undefined) {
  return { ...env, object: kind === 'completion' ? 'text_completion' : 'chat.completion.chunk', choices: [], usage: usageOf(u) };
}

/**
 * vLLM's stop_reason: the stop token id (a number) when one ended the sample, the stop string
 * (always a string, digits or not) when one did, else null. The same in every path.
 */
export function stopReasonOf(d: Pick<inference.GenerateResponse, 'stopReason' | 'stopTokenId'>): string | number | null {
  if (d.stopTokenId !== undefined) return d.stopTokenId;
  return d.stopReason ? d.stopReason : null;
}

/** The whole (non-streamed) response. */
export function wholeResponse(kind: Kind, env: Envelope, res: inference.CompleteResponse, wantLogprobs: boolean) {
  if (kind === 'completion') {
    return {
      ...env,
      object: 'text_completion',
      choices: res.choices.map((c) => ({ index: c.index, text: c.text, logprobs: wantLogprobs ? completionLogprobs(c.logprobs, 0) : null, finish_reason: finishName(c.finishReason), stop_reason: stopReasonOf(c) })),
      usage: usageOf(res.usage),
    };
  }
  return {
    ...env,
    object: 'chat.completion',
    choices: res.choices.map((c) => ({
      index: c.index,
      message: { role: 'assistant', content: c.text },
      logprobs: wantLogprobs ? chatLogprobs(c.logprobs) : null,
      finish_reason: finishName(c.finishReason),
    })),
    usage: usageOf(res.usage),
  };
}
