/*
 * Tool calls out of a finished reply, per family (families.ts). Each call keeps its arguments as
 * the exact JSON text the model wrote (so streamed fragments concatenate to the same string);
 * text outside the calls is the reply's content. A call whose JSON does not parse stays content.
 *
 *   hermes:  "<tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>"  (any number)
 *   llama3:  "<|python_tag|>"? '{"name": "f", "parameters": {...}}' ("; " between several)
 *   mistral: "[TOOL_CALLS] [{"name": "f", "arguments": {...}}, ...]"
 *
 * What it is not: the streaming form (stream.ts), which finds the same calls incrementally.
 */
import { FORMATS, type ToolFamily } from './families';

export interface ParsedCall {
  name: string;
  /** The arguments' JSON text as written. */
  arguments: string;
}

export interface ParsedReply {
  content: string;
  calls: ParsedCall[];
}

/** End (exclusive) of the JSON value starting at `from`, or -1 when it is not complete. */
export function jsonValueEnd(s: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && /[\s,]/.test(c) && i > from) return i;
  }
  return -1;
}

/** The call objects `{...}` found in s, in order, complete ones only. */
export function callObjects(s: string, family: ToolFamily): { call: ParsedCall; start: number; end: number }[] {
  const out: { call: ParsedCall; start: number; end: number }[] = [];
  const key = FORMATS[family].argsKey;
  let i = s.indexOf('{');
  while (i >= 0) {
    const end = jsonValueEnd(s, i);
    if (end < 0) break;
    const call = callOf(s.slice(i, end), key);
    if (call) out.push({ call, start: i, end });
    i = s.indexOf('{', call ? end : i + 1);
  }
  return out;
}

function callOf(text: string, key: string): ParsedCall | undefined {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!o || typeof o !== 'object' || typeof (o as Record<string, unknown>).name !== 'string') return undefined;
  const m = new RegExp(`"(${key}|arguments|parameters)"\\s*:\\s*`).exec(text);
  if (!m) return { name: (o as { name: string }).name, arguments: '{}' };
  const start = m.index + m[0].length;
  const end = jsonValueEnd(text, start);
  return { name: (o as { name: string }).name, arguments: text.slice(start, end < 0 ? undefined : end) };
}

export function parseToolCalls(family: ToolFamily, text: string): ParsedReply {
  if (family === 'hermes') {
    const calls: ParsedCall[] = [];
    const content = text.replace(/<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/g, (whole, body: string) => {
      const found = callObjects(body, family);
      if (found.length === 0) return whole;
      calls.push(...found.map((f) => f.call));
      return '';
    });
    return { content: calls.length ? content.trim() : text, calls };
  }
  const marker = FORMATS[family].marker;
  const at = text.indexOf(marker);
  const head = at >= 0 ? text.slice(0, at) : '';
  const body = at >= 0 ? text.slice(at + marker.length) : text;
  if (family === 'llama3' && at < 0 && !body.trimStart().startsWith('{')) return { content: text, calls: [] };
  if (family === 'mistral' && at < 0) return { content: text, calls: [] };
  const found = callObjects(body, family);
  if (found.length === 0) return { content: text, calls: [] };
  return { content: head.trim(), calls: found.map((f) => f.call) };
}
