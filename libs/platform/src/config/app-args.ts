/**
 * The first thing every app's main does: `--help` (or `-h`) prints what the app serves and every
 * setting (flag, environment variable, default) and exits 0 before any heavy module is loaded; an
 * unknown flag, a stray argument or a bad value prints one line naming it and exits 2. Otherwise the
 * validated settings are returned and the app starts.
 *
 * Deliberately not a CLI framework: one schema per app, flags and environment only.
 */
import { ConfigError, describeConfig, loadConfig, type ConfigOf, type ConfigSchema } from './loader';

export interface AppArgsSource {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** What appArgs would do, without exiting: a help text, an error line, or the settings. */
export type AppArgsOutcome<S extends ConfigSchema> =
  | { kind: 'help'; text: string }
  | { kind: 'error'; line: string }
  | { kind: 'config'; config: ConfigOf<S> };

export function readAppArgs<S extends ConfigSchema>(name: string, summary: string, schema: S, source: AppArgsSource = {}): AppArgsOutcome<S> {
  const argv = source.argv ?? process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    const text = `${name}: ${summary}\n\nusage: ${name} [--flag value ...]   (every flag is also an environment variable)\n\n${describeConfig(schema)}\n`;
    return { kind: 'help', text };
  }
  try {
    return { kind: 'config', config: loadConfig(schema, { argv, env: source.env, strict: true }) };
  } catch (err) {
    if (err instanceof ConfigError) return { kind: 'error', line: `${name}: ${err.message}` };
    throw err;
  }
}

/** readAppArgs for a process: prints the help (exit 0) or the error line (exit 2), else returns the settings. */
export function appArgs<S extends ConfigSchema>(name: string, summary: string, schema: S, source: AppArgsSource = {}): ConfigOf<S> {
  const outcome = readAppArgs(name, summary, schema, source);
  if (outcome.kind === 'help') {
    process.stdout.write(outcome.text);
    process.exit(0);
  }
  if (outcome.kind === 'error') {
    process.stderr.write(`${outcome.line}\n`);
    process.exit(2);
  }
  return outcome.config;
}
