/*
 * The agent loop. Messages in, tool calls out, results back, budgets checked every turn:
 *
 *   messages = [system?, ...input]
 *   loop:
 *     stop if a budget is spent or a stop condition holds
 *     window = context.fit(messages)             (truncate or summarise, by config)
 *     reply  = model.chat(window, tools)
 *     messages += reply
 *     no tool calls -> the reply's text is the answer
 *     messages += execute(reply.tool_calls)      (validated, guarded, in parallel; errors go back)
 *
 * Every step is written to the trace. Errors of the endpoint end the run with stop reason
 * 'error' and the message; they are not thrown, so a caller (an evaluation) keeps its results.
 * What it is not: planning or memory beyond the conversation; those are tools or prompts.
 * Reference: smolagents' ToolCallingAgent and the OpenAI Agents SDK runner (the same loop).
 */
import { EndpointError } from '../client/retry';
import type { ChatMessage, ModelClient, ToolChoice } from '../client/types';
import type { ContextManager } from '../context/manager';
import type { Guardrails } from '../guardrails/guardrails';
import { executeToolCalls, toolMessage, type ToolOutcome } from '../tools/execute';
import { ToolRegistry } from '../tools/registry';
import { requestHash, type TraceSink } from '../trace/trace';
import { BudgetTracker, type Budgets, type BudgetStop } from './budget';

export interface AgentOptions {
  client: ModelClient;
  model?: string;
  system?: string;
  tools?: ToolRegistry;
  budgets?: Budgets;
  context?: ContextManager;
  guardrails?: Guardrails;
  trace?: TraceSink;
  /** Run id in the trace (default: a time-based id). */
  runId?: string;
  sampling?: { temperature?: number; max_tokens?: number; seed?: number; top_p?: number };
  toolChoice?: ToolChoice;
  /** Run the calls of one message in parallel (default true). */
  parallelToolCalls?: boolean;
  /** Extra stop condition, checked after each step. */
  stopWhen?: (messages: ChatMessage[]) => boolean;
  signal?: AbortSignal;
}

export type StopReason = 'final_answer' | 'stop_condition' | 'error' | BudgetStop;

export interface AgentResult {
  answer: string | null;
  stopReason: StopReason;
  error?: string;
  /** The error came from the model endpoint (after its retries), not from the conversation. */
  endpointError?: boolean;
  messages: ChatMessage[];
  steps: number;
  usage: BudgetTracker['usage'];
  toolCalls: { total: number; invalid: number; refused: number; failed: number; outcomes: ToolOutcome[] };
  wallMs: number;
}

const INVALID = new Set(['unknown_tool', 'invalid_json', 'invalid_arguments']);
const REFUSED = new Set(['not_allowed', 'not_approved', 'invalid_output']);
let runCounter = 0;

export async function runAgent(input: string | ChatMessage[], opts: AgentOptions): Promise<AgentResult> {
  const run = opts.runId ?? `run-${Date.now().toString(36)}-${(runCounter++).toString(36)}`;
  const ts = () => new Date().toISOString();
  const budget = new BudgetTracker(opts.budgets);
  const allowed = opts.guardrails?.allowedTools;
  const tools = opts.tools?.specs(allowed);
  const offered = tools && tools.length > 0 ? tools : undefined;
  const messages: ChatMessage[] = [
    ...(opts.system ? [{ role: 'system' as const, content: opts.system }] : []),
    ...(typeof input === 'string' ? [{ role: 'user' as const, content: input }] : input),
  ];
  const outcomes: ToolOutcome[] = [];
  opts.trace?.write({ type: 'run_start', run, ts: ts(), endpoint: opts.client.endpoint, model: opts.model, tools: (offered ?? []).map((t) => t.function.name), input: [...messages], sampling: { ...opts.sampling } });

  const finish = (stopReason: StopReason, answer: string | null, error?: string, endpointError?: boolean): AgentResult => {
    const count = (set: Set<string>) => outcomes.filter((o) => set.has(o.status)).length;
    const calls = { total: outcomes.length, invalid: count(INVALID), refused: count(REFUSED), failed: count(new Set(['failed', 'timeout'])) };
    opts.trace?.write({ type: 'run_end', run, ts: ts(), answer, stop_reason: stopReason, error, steps: budget.steps, usage: { ...budget.usage }, tool_calls: calls, wall_ms: budget.wallMs });
    return { answer, stopReason, error, endpointError, messages, steps: budget.steps, usage: budget.usage, toolCalls: { ...calls, outcomes }, wallMs: budget.wallMs };
  };

  for (;;) {
    const spent = budget.exceeded();
    if (spent) return finish(spent, null);
    budget.steps++;
    const step = budget.steps;
    try {
      const window = opts.context ? await opts.context.fit(messages, offered) : { messages: [...messages], tokens: null, dropped: 0 };
      const hash = requestHash(window.messages, offered);
      const reply = await opts.client.chat(
        { model: opts.model, messages: window.messages, tools: offered, tool_choice: offered ? opts.toolChoice : undefined, parallel_tool_calls: offered ? opts.parallelToolCalls : undefined, ...opts.sampling },
        { signal: opts.signal },
      );
      budget.add(reply.usage);
      messages.push(reply.message);
      opts.trace?.write({
        type: 'model', run, ts: ts(), step, request_hash: hash, context: { tokens: window.tokens, dropped: window.dropped },
        response: reply.message, finish_reason: reply.finish_reason, usage: reply.usage, latency_ms: reply.latency_ms,
      });
      const calls = reply.message.tool_calls ?? [];
      if (calls.length === 0) return finish('final_answer', reply.message.content ?? '');
      const results = await executeToolCalls(calls, opts.tools ?? new ToolRegistry(), { guardrails: opts.guardrails, parallel: opts.parallelToolCalls !== false, signal: opts.signal });
      for (const o of results) {
        outcomes.push(o);
        messages.push(toolMessage(o));
        opts.trace?.write({ type: 'tool', run, ts: ts(), step, id: o.id, name: o.name, arguments: o.arguments, status: o.status, content: o.content, ms: o.ms });
      }
      if (opts.stopWhen?.(messages)) return finish('stop_condition', null);
    } catch (err) {
      return finish('error', null, (err as Error).message ?? String(err), err instanceof EndpointError);
    }
  }
}
