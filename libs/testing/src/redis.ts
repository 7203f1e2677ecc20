/**
 * startRedis(): a Redis for integration tests.
 *
 * 1. A Docker engine answers -> a testcontainers container from REDIS_IMAGE (default redis:7-alpine;
 *    machines without registry access build one locally with deploy/images/build-redis-image.sh and
 *    set REDIS_IMAGE), published on 127.0.0.1.
 * 2. Else `redis-server` on PATH -> spawned on a free 127.0.0.1 port, no persistence.
 * 3. Else an error that says what to install.
 * `LLM_TEST_REDIS=container|process` forces one way (container fails if no engine answers).
 * A container that cannot start (say, its image cannot be pulled) falls back to redis-server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { configureTestcontainersEnv, dockerAvailable } from './docker';
import { freePort } from './ports';

export interface StartedRedis {
  /** redis://127.0.0.1:PORT */
  url: string;
  host: string;
  port: number;
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
    'startRedis: no Docker engine answers and redis-server is not on PATH; install one (e.g. `apt-get install -y redis-server`) or start Docker',
  );
}

async function startRedisContainer(image?: string): Promise<StartedRedis> {
  configureTestcontainersEnv();
  const container: StartedTestContainer = await new GenericContainer(image ?? process.env.REDIS_IMAGE ?? 'redis:7-alpine')
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(60_000)
    .start();
  const host = '127.0.0.1';
  const port = container.getMappedPort(6379);
  await waitForPort(host, port, 10_000);
  return { url: `redis://${host}:${port}`, host, port, via: 'container', stop: async () => void (await container.stop({ timeout: 2_000 })) };
}

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function startRedisProcess(): Promise<StartedRedis> {
  const host = '127.0.0.1';
  const port = await freePort(host);
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(host, port, 10_000);
  return {
    url: `redis://${host}:${port}`,
    host,
    port,
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
