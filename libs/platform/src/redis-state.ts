/**
 * Redis outages as state changes: every ioredis connection and BullMQ queue, worker or event
 * stream this process opens reports to one tracker per Redis URL, which logs one line when Redis
 * becomes unreachable and one when it answers again (never a stack trace per reconnect attempt,
 * which is what ioredis prints for an 'error' event nobody listens to). `waitForRedis` is the
 * bounded start-up wait: a process that needs Redis either reaches it within the bound or exits
 * with one line saying which URL did not answer.
 *
 * What it is not: a client. ioredis reconnects by itself (its default backoff, at most 2 s apart).
 */
import type { EventEmitter } from 'node:events';
import IORedis from 'ioredis';
import { createLogger } from './logging';

export interface RedisState {
  up: boolean;
  /** When the current state began (ms since the epoch). */
  since: number;
  /** Why it is down. */
  reason?: string;
}

const states = new Map<string, RedisState>();

/** The credentials-free form of a redis:// URL, for logs. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || 6379}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'redis (unparsable URL)';
  }
}

/** The tracked state of `url` in this process (up until a connection says otherwise). */
export function redisState(url: string): RedisState {
  return states.get(redisLabel(url)) ?? { up: true, since: Date.now() };
}

function mark(url: string, up: boolean, reason?: string): void {
  const key = redisLabel(url);
  const prev = states.get(key);
  if (prev && prev.up === up) return;
  const now = Date.now();
  states.set(key, { up, since: now, reason });
  const log = createLogger('redis');
  if (!up) log.warn(`${key} unreachable (${reason ?? 'connection closed'}); reconnecting in the background`);
  else if (prev) log.info(`${key} reachable again after ${Math.round((now - prev.since) / 100) / 10} s`);
}

function reasonOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return typeof e?.code === 'string' ? e.code : typeof e?.message === 'string' ? e.message.split('\n')[0].slice(0, 120) : 'error';
}

/** Feeds an ioredis connection's events to the tracker of `url` (and so handles its 'error' events). */
export function watchRedis(conn: EventEmitter, url: string): void {
  conn.on('error', (err: unknown) => mark(url, false, reasonOf(err)));
  conn.on('reconnecting', () => mark(url, false, 'connection lost'));
  conn.on('ready', () => mark(url, true));
}

/** Handles a BullMQ Queue / Worker / QueueEvents 'error' event as a Redis state change (it reconnects by itself). */
export function watchBullMq(emitter: EventEmitter, url: string): void {
  emitter.on('error', (err: unknown) => {
    const reason = reasonOf(err);
    if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Connection is closed|connect/i.test(reason)) mark(url, false, reason);
    else createLogger('bullmq').warn(`queue error: ${reason}`);
  });
}

/**
 * Resolves once Redis at `url` answers PING; rejects after `timeoutMs` with one line naming the
 * URL and the last error. Nothing is left connected either way.
 */
export async function waitForRedis(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    const conn = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: Math.max(200, Math.min(2000, until - Date.now())), enableOfflineQueue: false });
    let seen: unknown;
    conn.on('error', (err: unknown) => (seen ??= err)); // the socket error (ECONNREFUSED) says more than the rejection
    try {
      await conn.connect();
      await conn.ping();
      conn.disconnect();
      return;
    } catch (err) {
      last = reasonOf(seen ?? err);
      conn.disconnect();
    }
    await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, until - Date.now()))));
  }
  throw new Error(`Redis at ${redisLabel(url)} is unreachable after ${Math.round(timeoutMs / 1000)} s (${last}); start it or pass the right --redis-url (LLM_REDIS_URL)`);
}
