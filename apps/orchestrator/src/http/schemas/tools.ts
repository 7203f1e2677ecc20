/*
 * The chat body's tool fields (`tools`, `tool_choice`, `parallel_tool_calls`) parsed with the
 * zod schemas of the tools room, and what they mean for this request: which tools are rendered,
 * whether the reply is parsed for calls, and, for `required` or a named function, the grammar
 * that holds the reply to valid calls.
 * What it is not: rendering or parsing (apps/orchestrator/src/tools).
 */
import { z } from 'zod';
import { toolCallGrammar, toolChoiceSchema, toolsSchema, type Tool, type ToolFamily } from '../../tools';
import { HttpError } from '../errors';
import { parseField } from './zod-error';

export interface ToolRequest {
  /** Tools given to the template. */
  tools: Tool[];
  family: ToolFamily;
  /** EBNF the reply must follow (required / named function), else undefined (auto). */
  grammar?: string;
}

/** The request's tool use, or undefined (no tools, or tool_choice none). */
export function toolRequestOf(b: Record<string, unknown>, family: ToolFamily): ToolRequest | undefined {
  if (b.tools === undefined || b.tools === null) {
    if (b.tool_choice !== undefined && b.tool_choice !== null && b.tool_choice !== 'none' && b.tool_choice !== 'auto') throw new HttpError(400, "'tool_choice' needs 'tools'", 'tool_choice');
    return undefined;
  }
  const tools = parseField(toolsSchema, b.tools, 'tools');
  const choice = b.tool_choice === undefined || b.tool_choice === null ? 'auto' : parseField(toolChoiceSchema, b.tool_choice, 'tool_choice');
  const parallel = b.parallel_tool_calls === undefined || b.parallel_tool_calls === null ? true : parseField(z.boolean(), b.parallel_tool_calls, 'parallel_tool_calls');
  if (choice === 'none') return undefined;
  if (choice === 'auto') return { tools, family };
  let allowed = tools.map((tool, index) => ({ tool, index }));
  if (typeof choice === 'object') {
    allowed = allowed.filter((t) => t.tool.function.name === choice.function.name);
    if (allowed.length === 0) throw new HttpError(400, `'tool_choice.function.name' names '${choice.function.name}', which is not in tools`, 'tool_choice.function.name');
  }
  return { tools, family, grammar: toolCallGrammar(family, allowed, parallel && typeof choice !== 'object') };
}
