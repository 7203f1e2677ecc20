/*
 * GrammarSpec: what a request constrains its output to, and its translation to the EBNF the
 * engine compiles. One translation for every front door (OpenAI response_format, vLLM's guided_*
 * and structured_outputs, the gRPC oneof, tool calls), so the worker only ever sees EBNF.
 *
 *   json_schema  JSON valid under a schema (json-schema.ts lists the keywords)
 *   json         any JSON value (`object: true`: an object, as response_format json_object)
 *   regex        text fully matching a regular expression (regex.ts lists the syntax)
 *   choice       exactly one of the given strings
 *   ebnf         a GBNF / EBNF grammar whose start rule is `root`
 *
 * What it is not: compilation to token masks (engine.ts).
 */
import { literal } from './ebnf-text';
import { GrammarError } from './errors';
import { jsonSchemaToEbnf } from './json-schema';
import { regexToEbnf } from './regex';

export type GrammarSpec =
  | { kind: 'json_schema'; schema: unknown }
  | { kind: 'json'; object?: boolean }
  | { kind: 'regex'; pattern: string }
  | { kind: 'choice'; choices: string[] }
  | { kind: 'ebnf'; grammar: string };

/** Largest user grammar text accepted (EBNF source or regex). */
export const MAX_GRAMMAR_SOURCE_CHARS = 256 * 1024;

/** The EBNF for a spec; a GrammarError names what is wrong with it. */
export function grammarToEbnf(spec: GrammarSpec): string {
  switch (spec.kind) {
    case 'json_schema':
      return guardSize(() => jsonSchemaToEbnf(spec.schema), 'schema');
    case 'json':
      return jsonSchemaToEbnf(spec.object ? { type: 'object' } : {});
    case 'regex':
      checkSource(spec.pattern, 'regex');
      return `root ::= ${guardSize(() => regexToEbnf(spec.pattern, { field: 'regex' }), 'regex')}\n`;
    case 'choice':
      if (!Array.isArray(spec.choices) || spec.choices.length === 0) throw new GrammarError('choice: must be a non-empty list of strings', 'choice');
      spec.choices.forEach((c, i) => {
        if (typeof c !== 'string' || c === '') throw new GrammarError(`choice[${i}]: must be a non-empty string`, `choice[${i}]`);
      });
      return `root ::= ${spec.choices.map(literal).join(' | ')}\n`;
    case 'ebnf':
      checkSource(spec.grammar, 'grammar');
      if (!/(^|\n)\s*root\s*::=/.test(spec.grammar)) throw new GrammarError('grammar: has no `root ::= ...` rule (the start rule must be named root)', 'grammar');
      return spec.grammar;
  }
}

function checkSource(text: unknown, field: string): void {
  if (typeof text !== 'string' || text.length === 0) throw new GrammarError(`${field}: must be a non-empty string`, field);
  if (text.length > MAX_GRAMMAR_SOURCE_CHARS) throw new GrammarError(`${field}: is ${text.length} characters (at most ${MAX_GRAMMAR_SOURCE_CHARS})`, field);
}

function guardSize(build: () => string, field: string): string {
  try {
    return build();
  } catch (err) {
    if (err instanceof RangeError) throw new GrammarError(`${field}: too large to compile (${err.message})`, field);
    throw err;
  }
}
