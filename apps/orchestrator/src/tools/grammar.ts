/*
 * The grammar of a reply that must call tools (tool_choice `required` or a named function): the
 * family's call syntax around a JSON object whose name is one of the allowed functions and whose
 * arguments follow that function's parameters schema, once, or 1..MAX_PARALLEL_CALLS times when
 * parallel calls are allowed. So with these choices the arguments always parse and validate.
 *
 *   hermes, parallel:  root ::= call ("\n" call)*
 *                      call ::= "<tool_call>\n{\"name\": \"f\", \"arguments\": " args_f "}\n</tool_call>" | ...
 *
 * What it is not: `auto` (nothing is constrained then; the reply is parsed afterwards).
 */
import { GrammarError, JsonSchemaCompiler, literal, RuleSet } from '@llm/grammar';
import { HttpError } from '../http/errors';
import { FORMATS, type ToolFamily } from './families';
import type { Tool } from './schemas';

const OPEN: Record<ToolFamily, [string, string, string]> = {
  // [before the calls, between calls, after the calls]
  hermes: ['', '\n', ''],
  llama3: ['', '; ', ''],
  mistral: ['[TOOL_CALLS] [', ', ', ']'],
};

/** Most calls one constrained reply may hold (a bound, so a reply always ends). */
export const MAX_PARALLEL_CALLS = 8;

/** EBNF for calls to `tools` (indices into the request's tools, for error paths). */
export function toolCallGrammar(family: ToolFamily, tools: { tool: Tool; index: number }[], parallel: boolean): string {
  const rules = new RuleSet();
  const key = FORMATS[family].argsKey;
  const alts = tools.map(({ tool, index }) => {
    const schema = tool.function.parameters ?? { type: 'object', properties: {} };
    let args: string;
    try {
      args = new JsonSchemaCompiler(schema, rules).schema(schema, '');
    } catch (err) {
      if (err instanceof GrammarError) {
        const param = `tools[${index}].function.parameters${err.path ? `.${err.path}` : ''}`;
        throw new HttpError(400, `'${param}': ${err.message}`, param);
      }
      throw err;
    }
    const obj = `${literal(`{"name": "${tool.function.name}", "${key}": `)} ${args} "}"`;
    return family === 'hermes' ? `"<tool_call>\\n" ${obj} "\\n</tool_call>"` : obj;
  });
  const call = rules.add('call', alts.join(' | '));
  const [before, between, after] = OPEN[family];
  const body = parallel ? `${call} (${literal(between)} ${call}){0,${MAX_PARALLEL_CALLS - 1}}` : call;
  return rules.toString([before && literal(before), body, after && literal(after)].filter(Boolean).join(' '));
}
