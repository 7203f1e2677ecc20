/*
 * The OpenAI tool-calling request fields as zod 4 schemas: `tools` (functions with a JSON Schema
 * for their parameters), `tool_choice` (none | auto | required | a named function),
 * `parallel_tool_calls`, and the message shapes that carry calls and results (assistant
 * `tool_calls`, `tool` messages with `tool_call_id`).
 * Reference: OpenAI API chat completions (function calling). What it is not: rendering or parsing.
 */
import { z } from 'zod';

export const toolSchema = z.object({
  type: z.literal('function', { error: "must be 'function'" }),
  function: z.object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, _ or -' }),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

export const toolsSchema = z.array(toolSchema).min(1, { error: 'must list at least one tool (or leave tools out)' });

export const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
], { error: "must be 'none', 'auto', 'required' or {type: 'function', function: {name}}" });

export const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

export type Tool = z.infer<typeof toolSchema>;
export type ToolChoice = z.infer<typeof toolChoiceSchema>;
export type ToolCallIn = z.infer<typeof toolCallSchema>;
