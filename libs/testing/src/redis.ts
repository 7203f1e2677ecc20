/**
 * startRedis(): a Redis for integration tests.
 *
 * 1. A Docker engine answers -> a testcontainers container from REDIS_IMAGE (default redis:7-alpine;
 *    machines without registry access build one locally with deploy/images/build-redis-image.sh and
 *    set REDIS_IMAGE), published on 127.0.0.1.
 * 2. Else `redis-server` on PATH -> spawned on a free 127.0.0.1 port, no persistence.
 * 3. Else an error that says what to install (`.ci/run` installs both on a Debian machine).
 * `LLM_TEST_REDIS=container|process` forces one way (container fails if no engine answers).
 * A container that cannot start (say, its image cannot be pulled) falls back to redis-server.
 * Either way Redis requires a random password (never protected mode off without one), carried in
 * `url` (redis://:PASSWORD@127.0.0.1:PORT) and `password`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { configureTestcontainersEnv, dockerAvailable } from './docker';
import { freePort } from './ports';

export interface StartedRedis {
  /** redis://:PASSWORD@127.0.0.1:PORT */
  url: string;
  host: string;
  port: number;
  password: string;
  /** How it was started. */
  via: 'container' | 'process';
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  prefer?: 'container' | 'process';
  image?: string;
}

export async function startRedis(options: StartRedisOptions = {}): Promise<StartedRedis> {
  const forced = options.prefer ?? (process.env.LLM_TEST_REDIS as 'container' | 'process' | undefined);
  if (forced !== 'process' && (await dockerAvailable())) {
    try {
      return await startRedisContainer(options.image);
    } catch (err) {
      // e.g. the image is not present and no registry is reachable: use a local redis-server if there is one.
      if (forced === 'container' || !hasRedisServer()) throw err;
      process.stderr.write(`startRedis: container failed (${(err as Error).message.split('\n')[0]}); using redis-server from PATH\n`);
      return startRedisProcess();
    }
  }
  if (forced === 'container') {
    throw new Error('startRedis: a container was requested but no Docker engine answers (start dockerd or unset LLM_TEST_REDIS)');
  }
  if (hasRedisServer()) return startRedisProcess();
  throw new Error(
    'startRedis: no Docker engine answers and redis-server is not on PATH; run .ci/run (installs both on Debian), or `apt-get install -y redis-server`, or start Docker',
  );
}

async function startRedisContainer(image?: string): Promise<StartedRedis> {
  configureTestcontainersEnv();
  const password = newPassword();
  const container: StartedTestContainer = await new GenericContainer(image ?? process.env.REDIS_IMAGE ?? 'redis:7-alpine')
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--requirepass', password])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(60_000)
    .start();
  const host = '127.0.0.1';
  const port = container.getMappedPort(6379);
  await waitForPort(host, port, 10_000);
  const url = `redis://:${password}@${host}:${port}`;
  return { url, host, port, password, via: 'container', stop: async () => void (await container.stop({ timeout: 2_000 })) };
}

/** A fresh random password (hex, URL-safe). */
function newPassword(): string {
  return randomBytes(16).toString('hex');
}

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function startRedisProcess(): Promise<StartedRedis> {
  const host = '127.0.0.1';
  const port = await freePort(host);
  const password = newPassword();
  // The config arrives on stdin (`redis-server -`), so the password is not in the process list.
  const child: ChildProcess = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin?.on('error', () => undefined);
  child.stdin?.end([`port ${port}`, `bind ${host}`, 'save ""', 'appendonly no', `requirepass ${password}`, ''].join('\n'));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(host, port, 10_000);
  return {
    url: `redis://:${password}@${host}:${port}`,
    host,
    port,
    password,
    via: 'process',
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls a TCP port until it accepts a connection (bounded). */
export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host, port }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}
