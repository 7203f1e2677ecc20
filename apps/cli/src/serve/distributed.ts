/**
 * `llm serve --distributed`: the five apps as separate processes on 127.0.0.1, gRPC between
 * them, BullMQ on Redis for intake (--redis-url, or a redis-server this command starts on a free
 * loopback port with a random password). Each app is its own compiled entry point
 * (apps/<app>/dist/src/main.js) configured through environment variables (LLM_<FLAG>), the same
 * way containers configure them; API keys and TLS come from ./distributed-security.ts. The
 * orchestrator runs as two processes, as in docker-compose: `orchestrator` (the api role: gRPC and
 * HTTP) and `orchestrator-scheduler` (drives the worker); run more `--role scheduler` processes by
 * hand to scale.
 *
 * Observability: every process serves /metrics on its own port (`metricsAddresses`; free ports, or
 * --metrics-port B + the app's offset, ./metrics-ports.ts) and, when the OTEL_* environment asks
 * for tracing, exports spans under its own service.name (the process name above).
 *
 * What it is not: a process supervisor. A child that exits stops the whole platform.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { loadModelDir } from '@llm/model';
import { CliError } from '../errors';
import { repoRoot } from './default-model';
import { childSecurityEnv, newRedisPassword, redisConfig } from './distributed-security';
import { metricsPortsOf, type MetricsProcess } from './metrics-ports';
import type { ServeSettings } from './settings';

export interface DistributedOptions extends ServeSettings {
  redisUrl?: string;
  /** Base of the processes' metrics ports (each gets base + its offset); 0 or absent: free ports. */
  metricsPort?: number;
  onProgress?: (line: string) => void;
}

export interface DistributedPlatform {
  grpcAddress: string;
  httpAddress?: string;
  modelId: string;
  /** host:port of each app's gRPC server. */
  addresses: Record<string, string>;
  /** host:port of each process's /metrics, by service name (orchestrator-api, orchestrator-scheduler, kv-manager, ...). */
  metricsAddresses: Record<string, string>;
  /** The child processes by app name (tests kill them to check recovery). */
  processes: Record<string, ChildProcess>;
  redisUrl: string;
  close(): Promise<void>;
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

async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess, name = 'process'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) throw new CliError(`${name} exited with code ${child.exitCode} during start-up (see its output above)`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ host: '127.0.0.1', port }, () => {
        c.end();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliError(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startDistributed(opts: DistributedOptions): Promise<DistributedPlatform> {
  const say = opts.onProgress ?? (() => undefined);
  const root = repoRoot();
  const processes: Record<string, ChildProcess> = {};
  const addresses: Record<string, string> = {};
  const closeAll = async () => {
    for (const name of ['orchestrator', 'orchestrator-scheduler', 'attention-worker', 'router', 'tokenizer-service', 'kv-manager', 'redis']) {
      if (processes[name]) await stop(processes[name]);
    }
  };
  const redisPassword = opts.redisUrl ? undefined : newRedisPassword();
  const security = childSecurityEnv(opts.security, redisPassword);
  const metricsPorts = await metricsPortsOf(opts.metricsPort ?? 0, freePort);
  const metricsAddresses: Record<string, string> = {};
  // name: the process; service: its service.name and metrics key; app: its compiled entry point.
  const launch = (name: string, env: Record<string, string>, service: MetricsProcess = name as MetricsProcess, app = name): ChildProcess => {
    const main = join(root, 'apps', app, 'dist', 'src', 'main.js');
    const { OTEL_SERVICE_NAME: _one, ...inherited } = process.env; // each process traces under its own name
    metricsAddresses[service] = `127.0.0.1:${metricsPorts[service]}`;
    const child = spawn(process.execPath, [main], {
      env: { ...inherited, LLM_HOST: '127.0.0.1', LLM_LOG_LEVEL: opts.logLevel ?? 'info', LLM_METRICS_PORT: String(metricsPorts[service]), ...security.all, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    processes[name] = child;
    return child;
  };
  try {
    const model = await loadModelDir(opts.modelDir, { quantize: opts.quantize });
    let redisUrl = opts.redisUrl;
    if (!redisUrl) {
      const port = await freePort();
      say(`starting redis-server on 127.0.0.1:${port}`);
      const child = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('error', () => undefined);
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(redisConfig(port, redisPassword as string));
      processes.redis = child;
      await waitForPort(port, 10_000, child, 'redis-server (install it with `apt-get install -y redis-server`, or pass --redis-url)');
      redisUrl = `redis://127.0.0.1:${port}`;
    }
    const ports = { kv: await freePort(), tok: await freePort(), router: await freePort(), worker: await freePort() };
    addresses['kv-manager'] = `127.0.0.1:${ports.kv}`;
    addresses['tokenizer-service'] = `127.0.0.1:${ports.tok}`;
    addresses['attention-worker'] = `127.0.0.1:${ports.worker}`;

    say('starting kv-manager and tokenizer-service');
    const kvChild = launch('kv-manager', { LLM_GRPC_PORT: String(ports.kv) });
    const tokChild = launch('tokenizer-service', { LLM_GRPC_PORT: String(ports.tok), LLM_MODEL: opts.modelDir, LLM_REDIS_URL: redisUrl });
    await waitForPort(ports.kv, 60_000, kvChild, 'kv-manager');
    await waitForPort(ports.tok, 60_000, tokChild, 'tokenizer-service');

    const workerEnv: Record<string, string> = {
      LLM_GRPC_PORT: String(ports.worker),
      LLM_MODEL: opts.modelDir,
      LLM_BACKEND: opts.backend,
      LLM_THREADS: String(opts.threads),
      LLM_KV_CACHE_GIB: String(opts.kvCacheGib),
      LLM_BLOCK_SIZE: String(opts.blockSize),
      LLM_KV_MANAGER_ADDRESS: addresses['kv-manager'],
      LLM_QUANTIZE: opts.quantize ?? '',
    };
    if (model.config.numExperts > 0) {
      say('starting router');
      addresses.router = `127.0.0.1:${ports.router}`;
      const r = launch('router', { LLM_GRPC_PORT: String(ports.router), LLM_MODEL: opts.modelDir, LLM_THREADS: String(opts.threads), LLM_QUANTIZE: opts.quantize ?? '' });
      await waitForPort(ports.router, 120_000, r, 'router');
      workerEnv.LLM_ROUTER_ADDRESS = addresses.router;
    }
    say('starting attention-worker');
    const w = launch('attention-worker', workerEnv);
    await waitForPort(ports.worker, 180_000, w, 'attention-worker');

    say('starting orchestrator: scheduler and api roles (BullMQ intake)');
    const grpcPort = opts.grpcPort === 0 ? undefined : opts.grpcPort;
    if (grpcPort === undefined) throw new CliError('--distributed needs a fixed --grpc-port (not 0)');
    const orchEnv: Record<string, string> = {
      LLM_MODEL: opts.modelDir,
      LLM_REDIS_URL: redisUrl,
      LLM_KV_MANAGER_ADDRESS: addresses['kv-manager'],
      LLM_WORKER_ADDRESS: addresses['attention-worker'],
      LLM_TOKENIZER_ADDRESS: addresses['tokenizer-service'],
      LLM_MAX_NUM_SEQS: String(opts.maxNumSeqs),
      LLM_MAX_NUM_BATCHED_TOKENS: String(opts.maxNumBatchedTokens),
      LLM_SERVED_MODEL_NAME: (opts.servedModelNames ?? []).join(','),
    };
    const sched = launch('orchestrator-scheduler', { ...orchEnv, LLM_ROLE: 'scheduler', LLM_GRPC_PORT: '0', LLM_HTTP_PORT: '-1' }, 'orchestrator-scheduler', 'orchestrator');
    await waitForPort(metricsPorts['orchestrator-scheduler'], 120_000, sched, 'orchestrator-scheduler');
    const o = launch('orchestrator', { ...orchEnv, LLM_ROLE: 'api', LLM_HOST: opts.host, LLM_GRPC_PORT: String(grpcPort), LLM_HTTP_PORT: String(opts.httpPort), ...security.orchestrator }, 'orchestrator-api');
    await waitForPort(grpcPort, 120_000, o, 'orchestrator');
    if (opts.httpPort > 0) await waitForPort(opts.httpPort, 30_000, o, 'orchestrator (HTTP)');
    addresses.orchestrator = `127.0.0.1:${grpcPort}`;
    const modelId = opts.servedModelNames?.[0] ?? opts.modelDir.split('/').filter(Boolean).pop() ?? 'model';
    return {
      grpcAddress: `${opts.host}:${grpcPort}`,
      httpAddress: opts.httpPort > 0 ? `${opts.host}:${opts.httpPort}` : undefined,
      modelId,
      addresses,
      metricsAddresses,
      processes,
      redisUrl,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
