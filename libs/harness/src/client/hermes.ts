/*
 * Hermes-style tool calls in generated text:
 *
 *   <tool_call>{"name": "add", "arguments": {"a": 12, "b": 34}}</tool_call>
 *
 * Each block's JSON becomes an OpenAI tool call (arguments re-serialised only when the model gave
 * an object; the text of `arguments` is kept as the model wrote it otherwise); the text outside
 * the blocks is the message content. A block that is not valid JSON, lacks a name, or is never
 * closed is not dropped silently: it becomes a call whose arguments are the raw text, so the
 * tool layer reports it to the model as an invalid call and counts it.
 *
 * What it is not: the parsers of other families (Llama 3 JSON, Mistral [TOOL_CALLS]).
 * Reference: NousResearch Hermes function-calling format; Qwen2.5 chat template.
 */
import type { ToolCall } from './types';

export const TOOL_CALL_OPEN = '<tool_call>';
export const TOOL_CALL_CLOSE = '</tool_call>';

export interface ParsedToolCalls {
  content: string;
  toolCalls: ToolCall[];
}

/** A name that no tool has, so a malformed block reaches the model as an error. */
export const MALFORMED_CALL = '(malformed tool call)';

export function parseHermesToolCalls(text: string, idPrefix = 'call'): ParsedToolCalls {
  const toolCalls: ToolCall[] = [];
  let content = '';
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf(TOOL_CALL_OPEN, pos);
    if (open < 0) {
      content += text.slice(pos);
      break;
    }
    content += text.slice(pos, open);
    const start = open + TOOL_CALL_OPEN.length;
    const close = text.indexOf(TOOL_CALL_CLOSE, start);
    const body = (close < 0 ? text.slice(start) : text.slice(start, close)).trim();
    toolCalls.push(toCall(body, `${idPrefix}_${toolCalls.length}`, close < 0));
    pos = close < 0 ? text.length : close + TOOL_CALL_CLOSE.length;
  }
  return { content: content.trim(), toolCalls };
}

function toCall(body: string, id: string, unclosed: boolean): ToolCall {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { id, type: 'function', function: { name: MALFORMED_CALL, arguments: unclosed ? `${body} (no ${TOOL_CALL_CLOSE})` : body } };
  }
  const p = parsed as { name?: unknown; arguments?: unknown };
  if (typeof p !== 'object' || p === null || typeof p.name !== 'string') {
    return { id, type: 'function', function: { name: MALFORMED_CALL, arguments: body } };
  }
  const args = typeof p.arguments === 'string' ? p.arguments : JSON.stringify(p.arguments ?? {});
  return { id, type: 'function', function: { name: p.name, arguments: rawArguments(body) ?? args } };
}

/**
 * The `arguments` value's own text inside the block (so `{"a":12}` stays byte for byte what
 * the model wrote and a re-rendered conversation matches), when it is an object.
 */
function rawArguments(body: string): string | undefined {
  const m = /"arguments"\s*:\s*/.exec(body);
  if (!m) return undefined;
  const start = m.index + m[0].length;
  if (body[start] !== '{') return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < body.length; i++) {
    const ch = body[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return body.slice(start, i + 1);
  }
  return undefined;
}
