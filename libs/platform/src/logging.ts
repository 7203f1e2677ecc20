/**
 * Structured logging with pino: JSON lines on stderr, level from LOG_LEVEL (default info), one
 * child logger per component (`createLogger('kv-manager')`).
 */
import pino, { type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

export function rootLogger(): Logger {
  root ??= pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination(2));
  return root;
}

export function createLogger(component: string): Logger {
  return rootLogger().child({ component });
}
