/**
 * The security part of `llm serve --distributed`, kept apart from process management:
 *
 * - every child gets the TLS settings (--tls-cert, --tls-key, --tls-ca): with a CA the processes
 *   talk mTLS to each other (their certificate needs 127.0.0.1 among its names);
 * - the orchestrator gets the API keys (its public ports check them);
 * - the Redis it starts has a random password, written in its config file (mode 0600, in a private
 *   temporary directory; never in argv) and given to the children as LLM_REDIS_PASSWORD (the
 *   environment, not argv, so `ps` does not show it).
 *
 * What it is not: the checks (libs/platform/src/security) or the process launcher (./distributed.ts).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServeSecurity } from './settings';

export interface ChildSecurityEnv {
  /** For every app. */
  all: Record<string, string>;
  /** For the orchestrator only (API keys). */
  orchestrator: Record<string, string>;
}

export function childSecurityEnv(sec: ServeSecurity | undefined, redisPassword: string | undefined): ChildSecurityEnv {
  const all: Record<string, string> = {};
  if (sec?.tlsCert) all.LLM_TLS_CERT = sec.tlsCert;
  if (sec?.tlsKey) all.LLM_TLS_KEY = sec.tlsKey;
  if (sec?.tlsCa) all.LLM_TLS_CA = sec.tlsCa;
  if (redisPassword) all.LLM_REDIS_PASSWORD = redisPassword;
  const orchestrator: Record<string, string> = {};
  if (sec && sec.apiKey.length > 0) orchestrator.LLM_API_KEY = sec.apiKey.join(',');
  if (sec?.apiKeysFile) orchestrator.LLM_API_KEYS_FILE = sec.apiKeysFile;
  if (sec) orchestrator.LLM_AUTH_EXEMPT = sec.authExempt.join(',');
  return { all, orchestrator };
}

/** A fresh Redis password (32 hex digits). */
export function newRedisPassword(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Writes redis-server's configuration into `dir` (a private temporary directory) and returns its
 * path: loopback only, the password, AOF on in `dir` (fsync every second) and no RDB snapshots, so
 * a Redis the supervisor restarts keeps the queue.
 */
export function writeRedisConfig(dir: string, port: number, password: string): string {
  const lines = [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'save ""', 'appendonly yes', 'appendfsync everysec', 'loglevel warning', `requirepass ${password}`];
  const path = join(dir, 'redis.conf');
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}
