/**
 * Runs the `llm` program in-process through its real command parser (commander with
 * exitOverride), capturing stdout; the error a command threw (a CliError for user errors) is
 * returned rather than printed.
 */
import { buildProgram } from '../../src/program';

export async function llm(...args: string[]): Promise<{ out: string; err: unknown }> {
  const program = buildProgram().exitOverride();
  let out = '';
  const so = jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const se = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  let err: unknown = null;
  try {
    await program.parseAsync(['node', 'llm', ...args]);
  } catch (e) {
    err = e;
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
  return { out, err };
}
