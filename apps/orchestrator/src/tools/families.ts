/*
 * How a model family writes tool calls, and which family a model is: Hermes-style
 * `<tool_call>{"name", "arguments"}</tool_call>` (Qwen2 / Qwen2.5 / Qwen3 and the platform's
 * default template), Llama 3 JSON `{"name", "parameters"}` (after an optional `<|python_tag|>`),
 * Mistral `[TOOL_CALLS] [{"name", "arguments"}, ...]`. Chosen from the chat template's own text
 * (what the model was trained to write), else from the architecture, else Hermes.
 *
 * What it is not: parsing (parsers.ts) or rendering (render.ts).
 */
import type { TokenizerConfig } from '@llm/tokenizer';

export type ToolFamily = 'hermes' | 'llama3' | 'mistral';

export interface FamilyFormat {
  /** The key holding a call's arguments. */
  argsKey: 'arguments' | 'parameters';
  /** Text that opens the tool-call part of a reply. */
  marker: string;
}

export const FORMATS: Record<ToolFamily, FamilyFormat> = {
  hermes: { argsKey: 'arguments', marker: '<tool_call>' },
  llama3: { argsKey: 'parameters', marker: '<|python_tag|>' },
  mistral: { argsKey: 'arguments', marker: '[TOOL_CALLS]' },
};

export function toolFamilyOf(config: TokenizerConfig | null, architecture: string): ToolFamily {
  const t = config?.chatTemplate ?? '';
  if (t.includes('<tool_call>')) return 'hermes';
  if (t.includes('[TOOL_CALLS]') || t.includes('[AVAILABLE_TOOLS]')) return 'mistral';
  if (t.includes('<|python_tag|>') || t.includes('ipython')) return 'llama3';
  if (/^Qwen/.test(architecture)) return 'hermes';
  return 'hermes';
}
