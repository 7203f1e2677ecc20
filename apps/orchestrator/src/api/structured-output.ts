/*
 * StructuredOutput (the gRPC oneof) -> the grammar the worker follows: GrammarSpec -> EBNF
 * (@llm/grammar), checked at admission by compiling it on the CompileGuard's thread with a time
 * limit, so a schema the platform cannot follow, or one too costly to compile, is refused with
 * INVALID_ARGUMENT naming the field and keyword before the request is queued.
 *
 * What it is not: the HTTP spellings (http/schemas/structured-output.ts maps response_format and
 * vLLM's guided_* onto this message) or the masking (the worker's sampler).
 */
import { CompileGuard, GrammarError, grammarToEbnf, vocabularyOf, type GrammarSpec } from '@llm/grammar';
import { invalidArgument } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { ModelFacts } from './model-facts';
import { jsonDepthProblem } from './request-rules';

/** The spec and the proto field it came from (for error messages). */
export function grammarSpecOf(so: inference.StructuredOutput | undefined): { spec: GrammarSpec; field: string } | undefined {
  if (!so) return undefined;
  const set = (['jsonSchema', 'jsonObject', 'regex', 'choice', 'grammar'] as const).filter((k) => so[k] !== undefined && so[k] !== false);
  if (set.length === 0) return undefined;
  const name: Record<(typeof set)[number], string> = { jsonSchema: 'json_schema', jsonObject: 'json_object', regex: 'regex', choice: 'choice', grammar: 'grammar' };
  const field = `structured_output.${name[set[0]]}`;
  if (so.jsonSchema !== undefined) {
    const deep = jsonDepthProblem(so.jsonSchema); // before parsing: the schema's walkers recurse
    if (deep) throw invalidArgument(field, deep);
    let schema: unknown;
    try {
      schema = JSON.parse(so.jsonSchema);
    } catch (err) {
      throw invalidArgument(field, `is not valid JSON: ${(err as Error).message}`);
    }
    return { spec: { kind: 'json_schema', schema }, field };
  }
  if (so.jsonObject) return { spec: { kind: 'json', object: true }, field };
  if (so.regex !== undefined) return { spec: { kind: 'regex', pattern: so.regex }, field };
  if (so.choice !== undefined) return { spec: { kind: 'choice', choices: so.choice.choices }, field };
  return { spec: { kind: 'ebnf', grammar: so.grammar as string }, field };
}

/** EBNF for a spec, or INVALID_ARGUMENT naming `field` and the place inside it. */
export function ebnfOf(spec: GrammarSpec, field: string): string {
  try {
    return grammarToEbnf(spec);
  } catch (err) {
    throw asInvalid(err, field);
  }
}

function asInvalid(err: unknown, field: string): Error {
  if (err instanceof GrammarError) return invalidArgument(err.path && spec(err.path) ? `${field}.${err.path}` : field, err.message);
  return err as Error;
}

const spec = (path: string) => !/^(grammar|regex|choice)/.test(path);

/** Admission: compiles on a thread within the time limit (cached by text). */
export class GrammarAdmission {
  private readonly guard: CompileGuard;

  constructor(facts: ModelFacts, timeoutMs: number) {
    this.guard = new CompileGuard(vocabularyOf(facts.tokenizer, facts.vocabSize, facts.eosTokenIds), timeoutMs);
  }

  async check(ebnf: string, field: string): Promise<number> {
    try {
      return (await this.guard.check(ebnf)).compileMs;
    } catch (err) {
      throw asInvalid(err, field);
    }
  }

  close(): Promise<void> {
    return this.guard.close();
  }
}
