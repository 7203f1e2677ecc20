/**
 * `node tether.js COMMAND ARGS...`: runs a program that cannot watch its parent (redis-server)
 * tied to the `llm serve --distributed` process: signals are passed on, the program's exit code is
 * this process's, and when the parent is gone (its IPC channel closes, however it died) the
 * program is stopped (SIGTERM, SIGKILL after 5 s), so nothing outlives `llm serve`.
 *
 * What it is not: a supervisor (supervisor.ts restarts children); node apps watch their parent
 * themselves (libs/platform exitWithParent).
 */
import { spawn } from 'node:child_process';

function main(): void {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    process.stderr.write('tether: usage: node tether.js COMMAND [ARGS...]\n');
    process.exit(2);
  }
  const child = spawn(command, args, { stdio: 'inherit' });
  child.on('error', (err) => {
    process.stderr.write(`tether: cannot start ${command}: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGKILL' ? 137 : 1)));
  const stop = (signal: NodeJS.Signals) => {
    child.kill(signal);
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('disconnect', () => stop('SIGTERM'));
}

main();
