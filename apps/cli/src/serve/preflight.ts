/**
 * Checks `llm serve` makes before it starts anything, so each user error is one line and a
 * non-zero exit instead of a banner followed by a child's stack trace: the model directory
 * (config.json parses, tokenizer.json loads; each error names the file), the public ports are
 * free, and a given Redis answers within a bounded wait. Also the readiness wait for a started
 * child (its grpc.health.v1 `readiness`), which fails as soon as the child exits.
 *
 * What it is not: the children's own checks (each app still validates its settings).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { loadConfig as loadModelConfig } from '@llm/model';
import { waitForRedis } from '@llm/platform';
import { loadTokenizerJson } from '@llm/tokenizer';
import { CliError } from '../errors';

/** The model directory's config.json and tokenizer.json load; returns the number of experts. */
export function checkModelDir(dir: string): { numExperts: number } {
  let numExperts: number;
  try {
    numExperts = loadModelConfig(dir).numExperts;
  } catch (err) {
    throw new CliError((err as Error).message.split('\n')[0]);
  }
  const tok = join(dir, 'tokenizer.json');
  if (existsSync(tok)) {
    try {
      loadTokenizerJson(readFileSync(tok, 'utf8'), tok);
    } catch (err) {
      throw new CliError(`${tok}: ${(err as Error).message.split('\n')[0].replace(/^tokenizer\.json: /, '')}`);
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

/** A given Redis answers within `timeoutMs`, or one line. */
export async function checkRedis(url: string, timeoutMs: number): Promise<void> {
  try {
    await waitForRedis(url, timeoutMs);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** Waits until the child at 127.0.0.1:port reports readiness SERVING; fails when it exits first or after timeoutMs. */
export async function waitReady(name: string, port: number, child: () => ChildProcess | undefined, timeoutMs: number): Promise<void> {
  const channel = createChannel(`127.0.0.1:${port}`);
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
        last = (err as { details?: string }).details ?? (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new CliError(`${name} was not ready on 127.0.0.1:${port} within ${Math.round(timeoutMs / 1000)} s (${last.split('\n')[0]})`);
  } finally {
    channel.close();
  }
}
