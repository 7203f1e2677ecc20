/*
 * Executing the tool calls of one assistant message. Each call is parsed (its arguments are JSON
 * text), checked (known tool, allowed, schema, argument validators, approval for side effects),
 * run with a time limit, and its output checked; every outcome becomes the `tool` message the
 * model sees next. A bad call is not an exception: the model gets `error: <reason>` and the
 * outcome's status counts it. Calls of one message run in parallel unless told otherwise; the
 * results keep the order of the calls.
 *
 * What it is not: the loop (agent/loop.ts) or the registry (registry.ts).
 * Reference: OpenAI chat tool messages (role "tool", tool_call_id).
 */
import type { ChatMessage, ToolCall } from '../client/types';
import { checkApproval, checkArguments, checkOutput, isAllowed, type Guardrails } from '../guardrails/guardrails';
import type { ToolRegistry } from './registry';

export type CallStatus = 'ok' | 'unknown_tool' | 'not_allowed' | 'invalid_json' | 'invalid_arguments' | 'not_approved' | 'failed' | 'timeout' | 'invalid_output';

export interface ToolOutcome {
  id: string;
  name: string;
  /** The arguments text as the model wrote it. */
  arguments: string;
  status: CallStatus;
  /** What the model is told (the result, or `error: ...`). */
  content: string;
  ms: number;
}

export interface ExecuteOptions {
  guardrails?: Guardrails;
  parallel?: boolean;
  signal?: AbortSignal;
}

/** Output as text: strings as they are, anything else as JSON. */
export function toolText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}

async function runOne(call: ToolCall, registry: ToolRegistry, opts: ExecuteOptions): Promise<ToolOutcome> {
  const t0 = performance.now();
  const name = call.function.name;
  const done = (status: CallStatus, content: string): ToolOutcome => ({
    id: call.id, name, arguments: call.function.arguments, status, content: status === 'ok' ? content : `error: ${content}`, ms: performance.now() - t0,
  });
  const entry = registry.get(name);
  if (!entry) return done('unknown_tool', `unknown tool '${name}' (available: ${registry.names().filter((n) => isAllowed(opts.guardrails, n)).join(', ') || 'none'})`);
  if (!isAllowed(opts.guardrails, name)) return done('not_allowed', `tool '${name}' is not allowed here`);
  let args: unknown;
  try {
    args = call.function.arguments.trim() === '' ? {} : JSON.parse(call.function.arguments);
  } catch (err) {
    return done('invalid_json', `arguments of '${name}' are not valid JSON (${(err as Error).message})`);
  }
  const view = { id: call.id, name, args };
  const schemaError = entry.validate(args);
  if (schemaError) return done('invalid_arguments', `invalid arguments for '${name}': ${schemaError}`);
  const ruleError = checkArguments(opts.guardrails, view);
  if (ruleError) return done('invalid_arguments', `invalid arguments for '${name}': ${ruleError}`);
  const refusal = await checkApproval(opts.guardrails, view, entry.tool.sideEffects ?? false);
  if (refusal) return done('not_approved', `call of '${name}' ${refusal}`);
  const limit = entry.tool.timeoutMs ?? 30_000;
  const timer = AbortSignal.timeout(limit);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timer]) : timer;
  let output: string;
  try {
    const value = await Promise.race([
      Promise.resolve().then(() => entry.tool.run(args, { signal, callId: call.id })),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
    ]);
    output = toolText(value);
  } catch (err) {
    if (timer.aborted) return done('timeout', `tool '${name}' did not finish within ${limit} ms`);
    return done('failed', `tool '${name}' failed: ${(err as Error).message ?? String(err)}`);
  }
  const outError = checkOutput(opts.guardrails, view, output);
  if (outError) return done('invalid_output', `output of '${name}' was withheld: ${outError}`);
  return done('ok', output);
}

export async function executeToolCalls(calls: ToolCall[], registry: ToolRegistry, opts: ExecuteOptions = {}): Promise<ToolOutcome[]> {
  if (opts.parallel === false) {
    const out: ToolOutcome[] = [];
    for (const c of calls) out.push(await runOne(c, registry, opts));
    return out;
  }
  return Promise.all(calls.map((c) => runOne(c, registry, opts)));
}

/** The `tool` message answering an outcome. */
export function toolMessage(o: ToolOutcome): ChatMessage {
  return { role: 'tool', tool_call_id: o.id, name: o.name, content: o.content };
}
