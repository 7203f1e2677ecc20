/*
 * Several prompts in one /v1/completions request (`prompt` as a list of strings or of token
 * lists), as OpenAI answers them: each prompt runs as its own request (so the scheduler batches
 * them together), choice index = prompt index * n + sample index, usage summed over all. The
 * streamed form merges the prompts' streams as deltas arrive; usage rides on the last message.
 *
 * What it is not: batching policy (the scheduler) or validation (each request is validated alone).
 */
import type { CallContext } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { InferenceService } from '../api/inference.service';

const nOf = (r: inference.GenerateRequest) => r.sampling?.n ?? 1;

function addUsage(a: inference.Usage | undefined, b: inference.Usage | undefined): inference.Usage {
  return { promptTokens: (a?.promptTokens ?? 0) + (b?.promptTokens ?? 0), completionTokens: (a?.completionTokens ?? 0) + (b?.completionTokens ?? 0), cachedPromptTokens: (a?.cachedPromptTokens ?? 0) + (b?.cachedPromptTokens ?? 0) };
}

export async function completeAll(service: InferenceService, requests: inference.GenerateRequest[], ctx: CallContext): Promise<inference.CompleteResponse> {
  if (requests.length === 1) return service.complete(requests[0], ctx);
  const all = await Promise.all(requests.map((r) => service.complete(r, ctx)));
  const choices = all.flatMap((res, i) => res.choices.map((c) => ({ ...c, index: i * nOf(requests[i]) + c.index })));
  // Prompt logprobs differ per prompt: the merged response keeps the first's; echo reads them per prompt (promptLogprobsOf).
  const merged = { requestId: all[0].requestId, model: all[0].model, choices, usage: all.reduce<inference.Usage | undefined>((u, r) => addUsage(u, r.usage), undefined), promptLogprobs: all[0].promptLogprobs, trace: undefined };
  byPrompt.set(merged, all.map((r) => r.promptLogprobs));
  return merged;
}

const byPrompt = new WeakMap<inference.CompleteResponse, inference.TokenLogprob[][]>();

/** The prompt logprobs of prompt i of a (possibly merged) response. */
export function promptLogprobsOf(res: inference.CompleteResponse, i: number): inference.TokenLogprob[] {
  return byPrompt.get(res)?.[i] ?? res.promptLogprobs;
}

export async function* generateAll(service: InferenceService, requests: inference.GenerateRequest[], ctx: CallContext): AsyncGenerator<inference.GenerateResponse> {
  if (requests.length === 1) {
    yield* service.generate(requests[0], ctx);
    return;
  }
  const iters = requests.map((r) => service.generate(r, ctx)[Symbol.asyncIterator]());
  const next = (i: number) => iters[i].next().then((r) => ({ i, r }));
  const pending = new Map(iters.map((_, i) => [i, next(i)]));
  let usage: inference.Usage | undefined;
  let held: inference.GenerateResponse | undefined;
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      pending.set(i, next(i));
      const d = { ...r.value, index: i * nOf(requests[i]) + r.value.index };
      if (d.usage) usage = addUsage(usage, d.usage);
      d.usage = undefined;
      if (held) yield held;
      held = d;
    }
    if (held) yield { ...held, usage };
  } finally {
    await Promise.all(iters.map((it) => it.return?.(undefined)));
  }
}
