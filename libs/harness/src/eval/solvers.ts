/*
 * Solvers: one sample (and repeat) of a task to a scored result, one function per request type.
 *
 *   generate_until   completion of prompt, stopped at `stop` or max_tokens -> extract -> metrics
 *   loglikelihood    log p(target | prompt) from prompt logprobs (echo): the sum over the tokens
 *                    whose text offset lies in the target; perplexity over the set
 *   multiple_choice  loglikelihood of each option; accuracy = argmax == gold, acc_norm per char
 *   agent            the agent loop with the task's tools; the final answer is scored, and the
 *                    trace is checked (all calls valid, required tools used, call count)
 *
 * An endpoint failure (after retries) is thrown: the sample is not finished and a resumed run
 * does it again. A failure of the sample itself (its template, an agent's context overflow) is
 * recorded as the sample's error, scored 0.
 * Reference: lm-evaluation-harness request types; Inspect solvers and scorers.
 */
import { runAgent } from '../agent/loop';
import { EndpointError } from '../client/retry';
import type { CompletionLogprobs, ModelClient, Usage } from '../client/types';
import { BUILTIN_TOOLS } from '../tools/builtin';
import { ToolRegistry, type Tool } from '../tools/registry';
import { MemoryTrace, type TraceEvent } from '../trace/trace';
import { exactMatch, extractAnswer, numericMatch } from './metrics';
import type { Sample, TaskTemplates } from './samples';
import type { TaskSpec } from './task-file';

export interface SampleResult {
  /** `${id}#${repeat}`: what a resumed run skips. */
  key: string;
  id: string;
  repeat: number;
  seed: number;
  prompt: string;
  target: string;
  output: string;
  extracted: string;
  /** Per-sample metric values (0/1 for matches); `correct` drives pass@k. */
  scores: Record<string, number>;
  /** loglikelihood: sum of the target's token logprobs and their count. */
  logprob?: number;
  tokens?: number;
  choiceLogprobs?: number[];
  latency_ms: number;
  usage: Usage;
  error?: string;
  agent?: { stop_reason: string; steps: number; tool_calls: { total: number; invalid: number; refused: number; failed: number } };
  trace?: TraceEvent[];
}

export interface SolveContext {
  task: TaskSpec;
  templates: TaskTemplates;
  client: ModelClient;
  model?: string;
  /** Tools for agent tasks beyond the built-in ones (e.g. from MCP servers). */
  extraTools?: Tool[];
}

/** A 31-bit seed from (task seed, sample id, repeat), stable across runs and machines. */
export function sampleSeed(taskSeed: number, id: string, repeat: number): number {
  let h = (0x811c9dc5 ^ taskSeed) >>> 0;
  for (const ch of `${id}#${repeat}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h & 0x7fffffff;
}

function score(task: TaskSpec, output: string, target: string): { extracted: string; scores: Record<string, number> } {
  const extracted = extractAnswer(output, task.extract);
  const scores: Record<string, number> = {};
  for (const m of task.metrics) {
    if (m.kind === 'exact_match') scores.exact_match = exactMatch(extracted, target);
    if (m.kind === 'numeric') scores.numeric = numericMatch(extracted, target, m.tolerance, m.relative);
    if (m.kind === 'regex_match') scores.regex_match = new RegExp(m.pattern).test(output) ? 1 : 0;
  }
  scores.correct = scores.exact_match ?? scores.numeric ?? scores.regex_match ?? exactMatch(extracted, target);
  return { extracted, scores };
}

/** Sum of logprobs of the tokens starting inside [from, to) of the echoed text, and their count. */
export function spanLogprob(lp: CompletionLogprobs | null | undefined, from: number, to: number, where: string): { logprob: number; tokens: number; greedy: boolean } {
  if (!lp || !Array.isArray(lp.text_offset)) {
    throw new EndpointError(`${where}: the endpoint returned no prompt logprobs ('echo' with 'logprobs' is needed for loglikelihood tasks)`, 0, false, 'echo');
  }
  let logprob = 0;
  let tokens = 0;
  let greedy = true;
  lp.text_offset.forEach((off, i) => {
    if (off < from || off >= to) return;
    const v = lp.token_logprobs[i];
    if (v === null || v === undefined) return;
    logprob += v;
    tokens++;
    const top = lp.top_logprobs?.[i];
    if (top && Object.values(top).some((x) => x > v + 1e-9)) greedy = false;
  });
  if (tokens === 0) throw new EndpointError(`${where}: no prompt token falls inside the scored text (offsets ${from}-${to})`, 0, false);
  return { logprob, tokens, greedy };
}

async function loglikelihood(ctx: SolveContext, context: string, continuation: string, seed: number) {
  const full = context + continuation;
  const r = await ctx.client.complete({ model: ctx.model, prompt: full, max_tokens: 1, temperature: 0, echo: true, logprobs: 1, seed });
  // With echo the text starts with the prompt; an endpoint that ignores echo would score the wrong tokens.
  if (!(r.choices[0]?.text ?? '').startsWith(full)) {
    throw new EndpointError(`${ctx.client.endpoint}: the endpoint ignored 'echo' (its text does not start with the prompt); loglikelihood needs prompt logprobs`, 0, false, 'echo');
  }
  return { ...spanLogprob(r.choices[0]?.logprobs, context.length, full.length, ctx.client.endpoint), usage: r.usage, latency: r.latency_ms };
}

export async function solve(ctx: SolveContext, sample: Sample, prefix: string, repeat: number): Promise<SampleResult> {
  const { task, templates } = ctx;
  const seed = sampleSeed(task.seed, sample.id, repeat);
  const prompt = prefix + templates.prompt(sample);
  const base = { key: `${sample.id}#${repeat}`, id: sample.id, repeat, seed, prompt };
  const g = task.generation;
  if (task.request === 'generate_until') {
    const target = templates.target(sample);
    const r = await ctx.client.complete({ model: ctx.model, prompt, max_tokens: g.max_tokens, temperature: g.temperature, top_p: g.top_p, stop: g.stop.length ? g.stop : undefined, seed });
    const output = r.choices[0]?.text ?? '';
    return { ...base, target, output, ...score(task, output, target), latency_ms: r.latency_ms, usage: r.usage };
  }
  if (task.request === 'loglikelihood') {
    const target = templates.target(sample);
    const r = await loglikelihood(ctx, prompt, target, seed);
    return { ...base, target, output: target, extracted: target, scores: { correct: r.greedy ? 1 : 0, greedy: r.greedy ? 1 : 0 }, logprob: r.logprob, tokens: r.tokens, latency_ms: r.latency, usage: r.usage };
  }
  if (task.request === 'multiple_choice') {
    const { options, gold } = templates.choices(sample);
    const lls = [];
    for (const option of options) lls.push(await loglikelihood(ctx, prompt, option, seed));
    const argmax = (xs: number[]) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);
    const pick = argmax(lls.map((l) => l.logprob));
    const pickNorm = argmax(lls.map((l, i) => l.logprob / Math.max(1, options[i].length)));
    const usage = lls.reduce((u, l) => ({ prompt_tokens: u.prompt_tokens + l.usage.prompt_tokens, completion_tokens: u.completion_tokens + l.usage.completion_tokens, total_tokens: u.total_tokens + l.usage.total_tokens }), { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    return {
      ...base, target: options[gold], output: options[pick], extracted: options[pick],
      scores: { accuracy: pick === gold ? 1 : 0, acc_norm: pickNorm === gold ? 1 : 0, correct: pick === gold ? 1 : 0 },
      choiceLogprobs: lls.map((l) => l.logprob), latency_ms: lls.reduce((s, l) => s + l.latency, 0), usage,
    };
  }
  return solveAgent(ctx, sample, prompt, base);
}

async function solveAgent(ctx: SolveContext, sample: Sample, prompt: string, base: Pick<SampleResult, 'key' | 'id' | 'repeat' | 'seed' | 'prompt'>): Promise<SampleResult> {
  const { task } = ctx;
  const spec = task.agent!;
  const target = ctx.templates.target(sample);
  const tools = new ToolRegistry();
  for (const name of spec.tools) {
    const t = BUILTIN_TOOLS[name] ?? ctx.extraTools?.find((x) => x.name === name);
    if (!t) throw new Error(`task ${task.name}: agent tool '${name}' is neither built in (${Object.keys(BUILTIN_TOOLS).join(', ')}) nor given (e.g. by an MCP server)`);
    tools.add(t);
  }
  const trace = new MemoryTrace();
  const r = await runAgent(prompt, {
    client: ctx.client, model: ctx.model, system: spec.system, tools, trace, runId: base.key,
    budgets: { maxSteps: spec.max_steps, maxTokens: spec.max_tokens },
    sampling: { temperature: task.generation.temperature, max_tokens: task.generation.max_tokens, seed: base.seed },
  });
  if (r.endpointError) throw new EndpointError(r.error ?? 'endpoint error', 0, false);
  const output = r.answer ?? '';
  const { extracted, scores } = score(task, output, target);
  const checks = spec.trace_checks;
  const used = new Set(r.toolCalls.outcomes.filter((o) => o.status === 'ok').map((o) => o.name));
  const traceOk =
    r.stopReason === 'final_answer' &&
    (!checks.all_calls_valid || r.toolCalls.invalid + r.toolCalls.refused + r.toolCalls.failed === 0) &&
    (checks.max_tool_calls === undefined || r.toolCalls.total <= checks.max_tool_calls) &&
    (checks.required_tools ?? []).every((t) => used.has(t));
  if (task.metrics.some((m) => m.kind === 'trace_ok')) scores.trace_ok = traceOk ? 1 : 0;
  return {
    ...base, target, output, extracted, scores, latency_ms: r.wallMs, usage: { ...r.usage }, error: r.error,
    agent: { stop_reason: r.stopReason, steps: r.steps, tool_calls: { total: r.toolCalls.total, invalid: r.toolCalls.invalid, refused: r.toolCalls.refused, failed: r.toolCalls.failed } },
    trace: trace.events,
  };
}
