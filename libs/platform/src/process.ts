/**
 * The life of a service process, the same in every app's main:
 *
 * - runMain: start-up errors are one line on stderr (`kv-manager: gRPC port 50055 on 0.0.0.0 is
 *   already in use (...)`) and exit code 1; LLM_DEBUG=1 adds the stack.
 * - nestLogger (./logging): NestJS's logger drops the ExceptionHandler's stack trace for a provider
 *   that failed at start-up (the error still reaches runMain, which prints it once).
 * - exitWithParent: a child started with an IPC channel (`llm serve --distributed`) stops when its
 *   parent is gone, however the parent died, so no process outlives it.
 * Graceful shutdown itself is NestJS's (enableShutdownHooks: a first SIGTERM/SIGINT drains through
 * beforeApplicationShutdown; the handlers are removed then, so a second signal ends the process).
 *
 * What it is not: a supervisor (apps/cli/src/serve/supervisor.ts restarts children).
 */

/** Runs an app's main; a thrown error becomes one line and exit code 1. */
export function runMain(app: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${app}: ${errorMessage(err)}\n`);
    if (process.env.LLM_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}

/** The first line of an error's message (never a stack trace). */
export function errorMessage(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown };
  const text = typeof e?.message === 'string' ? e.message : String(err);
  return text.split('\n')[0];
}

/** When started with an IPC channel, stops this process (gracefully, then hard after `graceMs`) once the parent is gone. */
export function exitWithParent(graceMs = 10_000): void {
  if (!process.send) return;
  process.on('disconnect', () => {
    process.stderr.write('parent process is gone; stopping\n');
    setTimeout(() => process.exit(1), graceMs).unref();
    process.kill(process.pid, 'SIGTERM');
  });
}
