/*
 * Guardrails around tool execution, checked in this order for every call:
 *   1. allowed tools: a call to a tool outside `allowedTools` is refused (and such tools are not
 *      offered to the model at all);
 *   2. argument validators: per tool, after the schema check, for rules a schema cannot say
 *      ("path must stay under /srv/data");
 *   3. approval: before a tool marked `sideEffects` runs, `approve` is asked; false (or a
 *      reason) refuses the call;
 *   4. output validators: the tool's result is checked before the model sees it.
 * A refused call goes back to the model as an error message and is counted; nothing throws.
 *
 * What it is not: content moderation of the model's text.
 * Reference: OpenAI Agents SDK guardrails (input/output), human-in-the-loop approval.
 */

export interface ToolCallView {
  id: string;
  name: string;
  args: unknown;
}

/** Returns null when the value is acceptable, else the reason. */
export type Check<T> = (value: T, call: ToolCallView) => string | null;

export interface Guardrails {
  /** Only these tools may be offered and called (default: every registered tool). */
  allowedTools?: readonly string[];
  /** Extra argument checks by tool name ('*' for every tool). */
  validateArguments?: Record<string, Check<unknown>>;
  /** Checks of the tool's output text by tool name ('*' for every tool). */
  validateOutput?: Record<string, Check<string>>;
  /** Asked before a side-effecting tool runs: true to allow; false or a reason to refuse. */
  approve?: (call: ToolCallView) => boolean | string | Promise<boolean | string>;
}

export function isAllowed(g: Guardrails | undefined, name: string): boolean {
  return !g?.allowedTools || g.allowedTools.includes(name);
}

function run<T>(checks: Record<string, Check<T>> | undefined, value: T, call: ToolCallView): string | null {
  if (!checks) return null;
  for (const key of [call.name, '*']) {
    const reason = checks[key]?.(value, call);
    if (reason) return reason;
  }
  return null;
}

export const checkArguments = (g: Guardrails | undefined, call: ToolCallView) => run(g?.validateArguments, call.args, call);
export const checkOutput = (g: Guardrails | undefined, call: ToolCallView, output: string) => run(g?.validateOutput, output, call);

/** null when approved (or no approval is needed), else the refusal reason. */
export async function checkApproval(g: Guardrails | undefined, call: ToolCallView, sideEffects: boolean): Promise<string | null> {
  if (!sideEffects) return null;
  if (!g?.approve) return null;
  const answer = await g.approve(call);
  if (answer === true) return null;
  return typeof answer === 'string' && answer ? `not approved: ${answer}` : 'not approved';
}
