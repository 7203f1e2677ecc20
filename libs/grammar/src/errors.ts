/*
 * GrammarError: a grammar the platform refuses, with where in it the problem is. `path` names the
 * place in the user's input (a JSON Schema pointer like `properties.age.multipleOf`, a regex
 * offset, an EBNF line) so the API can answer 400 / INVALID_ARGUMENT naming the keyword.
 *
 * What it is not: an engine failure. Anything else that goes wrong is a plain Error.
 */
export class GrammarError extends Error {
  constructor(
    message: string,
    /** Where in the grammar input: a schema path (`properties.a.format`), `pattern`, `grammar`. */
    readonly path = '',
  ) {
    super(message);
    this.name = 'GrammarError';
  }
}
