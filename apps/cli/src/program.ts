import { Command } from 'commander';
import { commands } from './commands';

/** Builds the `llm` program with every registered subcommand. */
export function buildProgram(): Command {
  const program = new Command('llm')
    .description('LLM serving platform: serve, generate, tokenize, train and inspect models')
    .version('0.1.0')
    .showHelpAfterError('(run `llm --help` for usage)');
  for (const register of commands) register(program);
  return program;
}
