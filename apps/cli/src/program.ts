import { Command } from 'commander';
import { commands } from './commands';

/**
 * Builds the `llm` program with every registered subcommand. A parse error (unknown command or
 * flag, missing value) is one line on stderr, like the apps': `llm: unknown option '--x' (run ...)`.
 */
export function buildProgram(): Command {
  const program = new Command('llm')
    .description('LLM serving platform: serve, generate, tokenize, train and inspect models')
    .version('0.1.0')
    .configureOutput({
      outputError: (str, write) => write(`llm: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (run \`llm --help\` for usage)\n`),
    });
  for (const register of commands) register(program);
  return program;
}
