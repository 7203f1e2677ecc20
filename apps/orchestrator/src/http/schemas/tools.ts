/*
 * The chat body's tool fields (`tools`, `tool_choice`, `parallel_tool_calls`) as zod 4 fields the
 * chat body schema extends with (the Chat RPC checks its own tool fields with the same object),
 * and what they mean for a request: which tools are rendered, whether the reply is parsed for
 * calls, and, for `required` or a named function, the grammar that holds the reply to valid calls.
 * What it is not: rendering or parsing (apps/orchestrator/src/tools).
 */
import { z } from 'zod';
import { toolCallGrammar, toolChoiceSchema, toolsSchema, type Tool, type ToolFamily } from '../../tools';
import { HttpError } from '../errors';
import { bool } from './fields';

/** The tool fields of a chat body. */
export const toolFields = {
  tools: toolsSchema.nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  parallel_tool_calls: bool(),
};

/** The tool fields alone (the Chat RPC maps its message onto this shape and checks it here). */
export const toolFieldsSchema = z.object(toolFields);
export type ToolFieldsBody = z.output<typeof toolFieldsSchema>;

export interface ToolRequest {
  /** Tools given to the template. */
  tools: Tool[];
  family: ToolFamily;
  /** EBNF the reply must follow (required / named function), else undefined (auto). */
  grammar?: string;
}

/** The request's tool use, or undefined (no tools, or tool_choice none). */
export function toolRequestOf(b: ToolFieldsBody, family: ToolFamily): ToolRequest | undefined {
  const choice = b.tool_choice ?? 'auto';
  if (!b.tools) {
    if (choice !== 'none' && choice !== 'auto') throw new HttpError(400, "tool_choice: needs 'tools'", 'tool_choice');
    return undefined;
  }
  const tools = b.tools;
  const parallel = b.parallel_tool_calls ?? true;
  if (choice === 'none') return undefined;
  if (choice === 'auto') return { tools, family };
  let allowed = tools.map((tool, index) => ({ tool, index }));
  if (typeof choice === 'object') {
    allowed = allowed.filter((t) => t.tool.function.name === choice.function.name);
    if (allowed.length === 0) throw new HttpError(400, `tool_choice.function.name: names '${choice.function.name.slice(0, 64)}', which is not in tools`, 'tool_choice.function.name');
  }
  return { tools, family, grammar: toolCallGrammar(family, allowed, parallel && typeof choice !== 'object') };
}
