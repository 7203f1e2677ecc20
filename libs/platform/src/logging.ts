/**
 * Structured logging with pino: JSON lines on stderr, one child logger per component
 * (`createLogger('kv-manager')`). The level comes from the apps' --log-level (LLM_LOG_LEVEL,
 * default info); `setLogLevel` applies it to this logger and `nestLogLevels` to NestJS's.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

export function rootLogger(): Logger {
  root ??= pino({ level: process.env.LLM_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination(2));
  return root;
}

export function createLogger(component: string): Logger {
  return rootLogger().child({ component });
}

/** Sets the level of every logger made by createLogger (children follow their root). */
export function setLogLevel(level: string): void {
  rootLogger().level = level;
}

type NestLevel = 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose';

/** NestJS's logger levels for a pino level name (`info` -> error, warn, log). */
export function nestLogLevels(level: string): NestLevel[] {
  const order: NestLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
  const upTo: Record<string, number> = { silent: 0, fatal: 1, error: 2, warn: 3, info: 4, debug: 5, trace: 6 };
  return order.slice(0, upTo[level] ?? 4);
}
