/**
 * Structured logging with pino: JSON lines on stderr, one child logger per component
 * (`createLogger('kv-manager')`), NestJS's own messages through the same logger (`nestLogger`). The
 * level comes from the apps' --log-level (LLM_LOG_LEVEL, default info); `setLogLevel` applies it.
 *
 * Request-scoped lines carry `requestId` (and `seqId`, `workerId` where they apply) as fields the
 * caller passes; when tracing is on, every line logged inside a span also carries its `trace_id`
 * and `span_id`. Errors: `errorFields(err)` gives a user error (a gRPC status a client caused:
 * INVALID_ARGUMENT, NOT_FOUND, ...) as its code and message only, never a stack trace.
 */
import type { LoggerService } from '@nestjs/common';
import { context, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import { tracingEnabled } from './telemetry/tracing';

export type { Logger };

let root: Logger | undefined;
let destination: pino.DestinationStream | undefined;

/** trace_id / span_id of the active span, when tracing is on (pino's mixin, per line). */
function traceFields(): Record<string, string> {
  if (!tracingEnabled()) return {};
  const sc = trace.getSpanContext(context.active());
  return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

export function rootLogger(): Logger {
  root ??= pino({ level: process.env.LLM_LOG_LEVEL ?? 'info', base: { pid: process.pid }, mixin: traceFields }, destination ?? pino.destination(2));
  return root;
}

/**
 * Sends the lines of every logger made from now on to `stream` (tests read them); loggers made
 * before keep their destination. `undefined` goes back to stderr.
 */
export function setLogDestination(stream: pino.DestinationStream | undefined): void {
  const level = root?.level;
  destination = stream;
  root = undefined;
  if (level) rootLogger().level = level;
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

/** NestJS's logger writing pino JSON lines (component: Nest's context), at `level` (its own; the root's stays as set). */
export function nestLogger(level: string): LoggerService {
  const log = (lvl: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace') => (message: unknown, ...rest: unknown[]) => {
    const ctx = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : 'nest';
    if (lvl === 'error' && ctx === 'ExceptionHandler') return; // a start-up failure: runMain prints it once, as one line
    const target = rootLogger().child({ component: ctx }, { level });
    const text = typeof message === 'string' ? message : message instanceof Error ? message.message : JSON.stringify(message);
    if (message instanceof Error) target[lvl](errorFields(message), text);
    else if (lvl === 'error' && rest.length >= 2 && typeof rest[0] === 'string') target[lvl]({ stack: rest[0] }, text);
    else target[lvl](text);
  };
  return { fatal: log('fatal'), error: log('error'), warn: log('warn'), log: log('info'), debug: log('debug'), verbose: log('trace') };
}

/** Status codes a client causes: logged as code and message, without a stack. */
const USER_CODES = new Set([1, 3, 5, 6, 7, 8, 9, 11, 16]); // CANCELLED, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, OUT_OF_RANGE, UNAUTHENTICATED

/** An error as log fields: `{ err: { code, message } }` for user errors, with the stack for the rest. */
export function errorFields(err: unknown): { err: Record<string, unknown> } {
  const e = err as { code?: unknown; details?: unknown; message?: unknown; stack?: unknown; name?: unknown };
  const message = typeof e?.details === 'string' ? e.details : typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.code === 'number' && USER_CODES.has(e.code)) return { err: { code: e.code, message } };
  return { err: { name: typeof e?.name === 'string' ? e.name : 'Error', message, ...(typeof e?.stack === 'string' ? { stack: e.stack } : {}) } };
}
