/**
 * Checks `llm serve` makes before it starts anything, so each user error is one line and a
 * non-zero exit instead of a banner followed by a child's stack trace: the model (config.json
 * parses and tokenizer.json loads, or a GGUF file's metadata and vocabulary; each error names the
 * file), the public ports are free, and a given Redis answers within a bounded wait. Also the
 * readiness wait for a started child (its grpc.health.v1 `readiness`), which fails as soon as the
 * child exits.
 *
 * What it is not: the children's own checks (each app still validates its settings).
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { ChannelCredentials } from '@grpc/grpc-js';
import { createChannel, createClient, Status } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { loadConfig as loadModelConfig, readModelTokenizerFiles, type ModelTokenizerFiles } from '@llm/model';
import { clientCredentials, redisUrlWithPassword, waitForRedis } from '@llm/platform';
import { loadTokenizerJson } from '@llm/tokenizer';
import { CliError } from '../errors';
import type { ServeSecurity } from './settings';

/** The model's config.json (or GGUF metadata) and tokenizer load; returns the number of experts. */
export function checkModelDir(dir: string): { numExperts: number } {
  let numExperts: number;
  let files: ModelTokenizerFiles;
  try {
    numExperts = loadModelConfig(dir).numExperts;
    files = readModelTokenizerFiles(dir);
  } catch (err) {
    throw new CliError((err as Error).message.split('\n')[0]);
  }
  if (files.tokenizerJson !== null) {
    try {
      loadTokenizerJson(files.tokenizerJson, files.source);
    } catch (err) {
      throw new CliError(`${files.source}: ${(err as Error).message.split('\n')[0].replace(/^tokenizer\.json: /, '')}`);
    }
  }
  return { numExperts };
}

/** Fails with one line when something already listens on host:port. */
export function checkPortFree(host: string, port: number, flag: string): Promise<void> {
  if (port <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => {
      reject(new CliError(err.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use (pass another ${flag}, or stop what holds it)` : `cannot listen on ${host}:${port} (${flag}): ${err.message}`));
    });
    s.listen(port, host, () => s.close(() => resolve()));
  });
}

/** A given Redis answers within `timeoutMs` (with the password of LLM_REDIS_PASSWORD(_FILE) in `env`, when set), or one line. */
export async function checkRedis(url: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<void> {
  try {
    await waitForRedis(redisUrlWithPassword(url, { redisPassword: env.LLM_REDIS_PASSWORD ?? '', redisPasswordFile: env.LLM_REDIS_PASSWORD_FILE ?? '' }), timeoutMs);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/**
 * Credentials for asking a child its readiness: those the children use with each other (TLS
 * verified by --tls-ca, with this certificate for mTLS); with a certificate but no CA, TLS without
 * verification (a local health probe of our own child; nothing but its status is read).
 */
export function probeCredentials(sec: ServeSecurity | undefined): ChannelCredentials | undefined {
  if (!sec?.tlsCert) return undefined;
  if (sec.tlsCa) return clientCredentials(sec);
  return ChannelCredentials.createSsl(null, null, null, { rejectUnauthorized: false });
}

/**
 * Waits until the child at 127.0.0.1:port reports readiness SERVING; fails when it exits first or
 * after timeoutMs. A health service guarded by API keys (--auth-exempt without it) answers
 * UNAUTHENTICATED: the child is up, and that is all that can be known.
 */
export async function waitReady(name: string, port: number, child: () => ChildProcess | undefined, timeoutMs: number, credentials?: ChannelCredentials): Promise<void> {
  const channel = createChannel(`127.0.0.1:${port}`, credentials);
  const health = createClient(HealthDefinition, channel);
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  try {
    while (Date.now() < until) {
      const c = child();
      if (!c || c.exitCode !== null || c.signalCode !== null) {
        throw new CliError(`${name} exited during start-up (${c?.signalCode ?? `code ${c?.exitCode}`}; its error is above)`);
      }
      try {
        const res = await health.check({ service: 'readiness' }, { signal: AbortSignal.timeout(1000) });
        if (res.status === 1) return;
        last = 'not ready yet';
      } catch (err) {
        if ((err as { code?: unknown }).code === Status.UNAUTHENTICATED) return;
        last = (err as { details?: string }).details ?? (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new CliError(`${name} was not ready on 127.0.0.1:${port} within ${Math.round(timeoutMs / 1000)} s (${last.split('\n')[0]})`);
  } finally {
    channel.close();
  }
}
