/**
 * `llm serve --distributed`: the apps as separate processes on 127.0.0.1, gRPC between them,
 * BullMQ on Redis for intake (--redis-url, or a redis-server it starts with AOF on in a temporary
 * directory, so a restarted Redis keeps the queue). Each app is its own compiled entry point
 * (apps/<app>/dist/src/main.js) configured through environment variables, the same way containers
 * configure them. The orchestrator runs as two processes, as in docker-compose: `orchestrator`
 * (the api role: gRPC and HTTP) and `orchestrator-scheduler` (drives the worker); run more
 * `--role scheduler` processes by hand to scale.
 *
 * Before anything starts: the model directory, the public ports and a given Redis are checked
 * (preflight.ts), so a user error is one line. Each child is started in dependency order and
 * waited for until its grpc.health.v1 `readiness` is SERVING. From then on the Supervisor restarts
 * a child that dies (backoff, one log line); close() stops them gracefully, api first, so
 * requests in flight finish; kill() is the second Ctrl-C.
 *
 * What it is not: a production deployment (docker-compose.yml and deploy/k8s are).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors';
import { repoRoot } from './default-model';
import { checkModelDir, checkPortFree, checkRedis, waitReady } from './preflight';
import type { ServeSettings } from './settings';
import { Supervisor, type ChildSpec } from './supervisor';

export interface DistributedOptions extends ServeSettings {
  redisUrl?: string;
  onProgress?: (line: string) => void;
}

export interface DistributedPlatform {
  grpcAddress: string;
  httpAddress?: string;
  modelId: string;
  /** host:port of each app's gRPC server. */
  addresses: Record<string, string>;
  /** The running child processes by app name (a restarted child replaces its entry). */
  processes: Record<string, ChildProcess>;
  supervisor: Supervisor;
  redisUrl: string;
  /** Graceful stop: the api drains, then the rest stops in reverse dependency order. */
  close(): Promise<void>;
  /** Immediate stop (SIGKILL every child). */
  kill(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

/** Stop order: what serves clients first, what everything depends on last. */
const STOP_ORDER = ['orchestrator', 'orchestrator-scheduler', 'attention-worker', 'router', 'tokenizer-service', 'kv-manager', 'redis'];
const API_DRAIN_MS = 25_000;

export async function startDistributed(opts: DistributedOptions): Promise<DistributedPlatform> {
  const say = opts.onProgress ?? (() => undefined);
  const root = repoRoot();
  const { numExperts } = checkModelDir(opts.modelDir);
  const grpcPort = opts.grpcPort === 0 ? await freePort() : opts.grpcPort;
  const httpPort = opts.httpPort === 0 ? await freePort() : opts.httpPort;
  await checkPortFree(opts.host, grpcPort, '--grpc-port');
  if (httpPort > 0) await checkPortFree(opts.host, httpPort, '--http-port');
  if (opts.redisUrl) await checkRedis(opts.redisUrl, 10_000);

  const supervisor = new Supervisor({ say });
  const addresses: Record<string, string> = {};
  const processes = {} as Record<string, ChildProcess>;
  const node = (app: string, env: Record<string, string>): ChildSpec => ({
    command: process.execPath,
    args: [join(root, 'apps', app, 'dist', 'src', 'main.js')],
    env: { ...(process.env as Record<string, string>), HOST: '127.0.0.1', ...env },
  });
  const run = (name: string, spec: ChildSpec) => {
    supervisor.start(name, spec);
    Object.defineProperty(processes, name, { get: () => supervisor.current(name), enumerable: true, configurable: true });
  };
  let redisDir: string | undefined;
  const stopAll = async () => {
    await supervisor.stopAll(STOP_ORDER, (name) => (name === 'orchestrator' ? API_DRAIN_MS + 5000 : 10_000));
    if (redisDir) rmSync(redisDir, { recursive: true, force: true });
  };
  try {
    let redisUrl = opts.redisUrl;
    if (!redisUrl) {
      const port = await freePort();
      redisDir = mkdtempSync(join(tmpdir(), 'llm-serve-redis-'));
      say(`starting redis-server on 127.0.0.1:${port} (AOF in ${redisDir})`);
      const tether = join(root, 'apps', 'cli', 'dist', 'src', 'serve', 'tether.js');
      run('redis', { command: process.execPath, args: [tether, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', redisDir, '--loglevel', 'warning'], env: process.env as Record<string, string> });
      redisUrl = `redis://127.0.0.1:${port}`;
      await checkRedis(redisUrl, 10_000).catch(() => {
        throw new CliError('redis-server did not start (install it with `apt-get install -y redis-server`, or pass --redis-url)');
      });
    }
    const ports = { kv: await freePort(), tok: await freePort(), router: await freePort(), worker: await freePort(), scheduler: await freePort() };
    addresses['kv-manager'] = `127.0.0.1:${ports.kv}`;
    addresses['tokenizer-service'] = `127.0.0.1:${ports.tok}`;
    addresses['attention-worker'] = `127.0.0.1:${ports.worker}`;
    addresses['orchestrator-scheduler'] = `127.0.0.1:${ports.scheduler}`;

    say('starting kv-manager and tokenizer-service');
    run('kv-manager', node('kv-manager', { GRPC_PORT: String(ports.kv) }));
    run('tokenizer-service', node('tokenizer-service', { GRPC_PORT: String(ports.tok), MODEL: opts.modelDir, REDIS_URL: redisUrl }));
    await waitReady('kv-manager', ports.kv, () => processes['kv-manager'], 60_000);
    await waitReady('tokenizer-service', ports.tok, () => processes['tokenizer-service'], 60_000);

    const workerEnv: Record<string, string> = {
      GRPC_PORT: String(ports.worker),
      MODEL_DIR: opts.modelDir,
      BACKEND: opts.backend,
      THREADS: String(opts.threads),
      KV_CACHE_GIB: String(opts.kvCacheGib),
      BLOCK_SIZE: String(opts.blockSize),
      KV_MANAGER_ADDRESS: addresses['kv-manager'],
    };
    if (numExperts > 0) {
      say('starting router');
      addresses.router = `127.0.0.1:${ports.router}`;
      run('router', node('router', { GRPC_PORT: String(ports.router), MODEL_DIR: opts.modelDir, THREADS: String(opts.threads) }));
      await waitReady('router', ports.router, () => processes.router, 120_000);
      workerEnv.ROUTER_ADDRESS = addresses.router;
    }
    say('starting attention-worker');
    run('attention-worker', node('attention-worker', workerEnv));
    await waitReady('attention-worker', ports.worker, () => processes['attention-worker'], 180_000);

    say('starting orchestrator: scheduler and api roles (BullMQ intake)');
    const orchEnv: Record<string, string> = {
      MODEL_DIR: opts.modelDir,
      REDIS_URL: redisUrl,
      KV_MANAGER_ADDRESS: addresses['kv-manager'],
      WORKER_ADDRESS: addresses['attention-worker'],
      TOKENIZER_ADDRESS: addresses['tokenizer-service'],
      MAX_NUM_SEQS: String(opts.maxNumSeqs),
      MAX_NUM_BATCHED_TOKENS: String(opts.maxNumBatchedTokens),
      LEASE_TTL_MS: '10000', // a killed scheduler's requests resume within about this long after its restart
      STALLED_INTERVAL_MS: '2000',
    };
    run('orchestrator-scheduler', node('orchestrator', { ...orchEnv, ROLE: 'scheduler', SCHEDULER_ID: 'serve-scheduler', GRPC_PORT: String(ports.scheduler), HTTP_PORT: '-1' }));
    await waitReady('orchestrator-scheduler', ports.scheduler, () => processes['orchestrator-scheduler'], 120_000);
    run('orchestrator', node('orchestrator', { ...orchEnv, ROLE: 'api', HOST: opts.host, GRPC_PORT: String(grpcPort), HTTP_PORT: String(httpPort), DRAIN_TIMEOUT_MS: String(API_DRAIN_MS) }));
    const connectHost = opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
    await waitReady('orchestrator', grpcPort, () => processes.orchestrator, 120_000);
    addresses.orchestrator = `${connectHost}:${grpcPort}`;
    const modelId = opts.modelDir.split('/').filter(Boolean).pop() ?? 'model';
    return {
      grpcAddress: `${connectHost}:${grpcPort}`,
      httpAddress: httpPort > 0 ? `${connectHost}:${httpPort}` : undefined,
      modelId,
      addresses,
      processes,
      supervisor,
      redisUrl,
      close: stopAll,
      kill: () => supervisor.killAll(),
    };
  } catch (err) {
    supervisor.killAll();
    await stopAll();
    throw err;
  }
}
