import { buildProgram } from './program';
import { CliError } from './errors';

/** Entry point of the `llm` binary: parse argv, run the command, print errors as one line. */
async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`llm: ${message}\n`);
    if (process.env.LLM_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
}

void main();
