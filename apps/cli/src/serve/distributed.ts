/**
 * `llm serve --distributed`: the apps as separate processes on 127.0.0.1, gRPC between them,
 * BullMQ on Redis for intake (--redis-url, or a redis-server it starts on a free loopback port with
 * a random password and AOF on in a private temporary directory, so a restarted Redis keeps the
 * queue). Each app is its own compiled entry point (apps/<app>/dist/src/main.js) configured
 * through environment variables (LLM_<FLAG>), the same way containers configure them; API keys
 * and TLS come from ./distributed-security.ts. The orchestrator runs as two processes, as in
 * docker-compose: `orchestrator` (the api role: gRPC and HTTP) and `orchestrator-scheduler`
 * (drives the worker); run more `--role scheduler` processes by hand to scale.
 *
 * Observability: every process serves /metrics on its own port (`metricsAddresses`; free ports, or
 * --metrics-port B + the app's offset, ./metrics-ports.ts) and, when the OTEL_* environment asks
 * for tracing, exports spans under its own service.name (the process name above).
 *
 * Ports: every port the user did not fix (each child's gRPC and /metrics ports, the api's public
 * gRPC and HTTP ports when given as 0) is passed to the child as 0; the child binds a port of the
 * OS's choice and reports what it bound over IPC (libs/platform's port-report, ./child-ports.ts).
 * No port is picked here and bound there, so no outgoing connection can take it in between (the
 * ports the OS offers lie in its ephemeral range). A child's restart serves the ports it reported.
 *
 * Before anything starts: the model directory, the public ports and a given Redis are checked
 * (preflight.ts), so a user error is one line. Each child is started in dependency order (those
 * that do not depend on each other together) and waited for until it reported its ports and its
 * grpc.health.v1 `readiness` is SERVING. From then on the Supervisor restarts
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
import type { BoundPorts } from '@llm/platform';
import { CliError } from '../errors';
import { repoRoot } from './default-model';
import { checkModelDir, checkPortFree, checkRedis, probeCredentials, waitReady } from './preflight';
import { childSecurityEnv, newRedisPassword, writeRedisConfig } from './distributed-security';
import { startReporting } from './child-ports';
import { metricsPortsOf, type MetricsProcess } from './metrics-ports';
import type { ServeSettings } from './settings';
import { Supervisor, type ChildSpec } from './supervisor';

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
  /** The running child processes by app name (a restarted child replaces its entry). */
  processes: Record<string, ChildProcess>;
  supervisor: Supervisor;
  redisUrl: string;
  /** Graceful stop: the api drains, then the rest stops in reverse dependency order. */
  close(): Promise<void>;
  /** Immediate stop (SIGKILL every child). */
  kill(): void;
}

/**
 * Free ports, none handed out twice: each from `probe` (a port free now), skipping ports this
 * function returned before. A probe's listener closes before the child binds its port, so the OS
 * may offer the same port to the next probe (a clean-clone CI run once got the api's HTTP port again
 * as its metrics port). Only redis-server's port is picked this way (it cannot bind port 0 and
 * report it); the apps choose their own ports (the header above).
 */
export function uniquePorts(probe: () => Promise<number>): () => Promise<number> {
  const given = new Set<number>();
  return async () => {
    for (let i = 0; i < 64; i++) {
      const p = await probe();
      if (!given.has(p)) {
        given.add(p);
        return p;
      }
    }
    throw new CliError('no free port on 127.0.0.1 that was not handed out already (64 tries)');
  };
}

/** The free ports `llm serve --distributed` hands its processes. */
export const freePort = uniquePorts(probePort);

function probePort(): Promise<number> {
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

/**
 * V8 flags of the processes that run model steps (attention worker, router). Their live JS heap is
 * small (tens of MB; the weights and the KV pool live outside it), so V8 keeps the old-generation
 * limit close to it and runs a full mark-compact every few steps, on the cores the step needs
 * (measured with 32 streaming clients on the SmolLM-135M shape: 47 mark-compacts per 51 steps and
 * four GC helper threads busy, ~0.7 ms CPU per token more than the whole embedded process; with 128 MB
 * of initial old space only the external-memory ones remain, 16 per 51 steps). A limit, not an
 * allocation: the heap grows to it only with garbage.
 */
export const MODEL_PROCESS_V8_FLAGS = ['--initial-old-space-size=128'];

/** Stop order: what serves clients first, what everything depends on last. */
const STOP_ORDER = ['orchestrator', 'orchestrator-scheduler', 'attention-worker', 'router', 'tokenizer-service', 'kv-manager', 'redis'];
const API_DRAIN_MS = 25_000;


export async function startDistributed(opts: DistributedOptions): Promise<DistributedPlatform> {
  const say = opts.onProgress ?? (() => undefined);
  const root = repoRoot();
  const { numExperts } = checkModelDir(opts.modelDir);
  // A fixed public port is checked now (one clear line); 0 is left to the api, which reports what it bound.
  await checkPortFree(opts.host, opts.grpcPort, '--grpc-port');
  if (opts.httpPort > 0) await checkPortFree(opts.host, opts.httpPort, '--http-port');
  // A given Redis's password comes with the URL or, as for the apps, LLM_REDIS_PASSWORD(_FILE), which the children inherit.
  if (opts.redisUrl) await checkRedis(opts.redisUrl, 10_000, process.env);
  const redisPassword = opts.redisUrl ? undefined : newRedisPassword();
  const security = childSecurityEnv(opts.security, redisPassword);

  const supervisor = new Supervisor({ say });
  const addresses: Record<string, string> = {};
  const processes = {} as Record<string, ChildProcess>;
  const metricsPorts = metricsPortsOf(opts.metricsPort ?? 0);
  const metricsAddresses: Record<string, string> = {};
  // app: its compiled entry point; service: its service.name and metrics key. Port 0: the child chooses and reports.
  const node = (app: string, env: Record<string, string>, service: MetricsProcess = app as MetricsProcess, v8Flags: string[] = []): ChildSpec => {
    const { OTEL_SERVICE_NAME: _one, ...inherited } = process.env as Record<string, string>; // each process traces under its own name
    return {
      command: process.execPath,
      args: [...v8Flags, join(root, 'apps', app, 'dist', 'src', 'main.js')],
      env: { ...inherited, LLM_HOST: '127.0.0.1', LLM_LOG_LEVEL: opts.logLevel ?? 'info', LLM_GRPC_PORT: '0', LLM_METRICS_PORT: String(metricsPorts[service]), ...security.all, ...env },
    };
  };
  // Readiness of a child over its own transport (TLS / mTLS when the platform uses it).
  const credentials = probeCredentials(opts.security);
  const run = (name: string, spec: ChildSpec) => {
    supervisor.start(name, spec);
    Object.defineProperty(processes, name, { get: () => supervisor.current(name), enumerable: true, configurable: true });
  };
  /**
   * Starts an app, waits for the ports it bound and its readiness; records its addresses and pins
   * its restarts to those ports (held by this process while it is down).
   */
  const launch = async (name: string, spec: ChildSpec, service: MetricsProcess, timeoutMs: number): Promise<BoundPorts> => {
    const until = Date.now() + timeoutMs;
    Object.defineProperty(processes, name, { get: () => supervisor.current(name), enumerable: true, configurable: true });
    const ports = await startReporting(supervisor, name, spec, timeoutMs);
    const host = spec.env.LLM_HOST;
    addresses[name] = `${host === '0.0.0.0' ? '127.0.0.1' : host}:${ports.grpc}`;
    if (ports.metrics !== undefined) metricsAddresses[service] = `127.0.0.1:${ports.metrics}`;
    await waitReady(name, ports.grpc, () => processes[name], Math.max(5000, until - Date.now()), credentials);
    return ports;
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
      // The password is in a config file only this user can read (never in argv, where `ps` shows it).
      const conf = writeRedisConfig(redisDir, port, redisPassword as string);
      const tether = join(root, 'apps', 'cli', 'dist', 'src', 'serve', 'tether.js');
      run('redis', { command: process.execPath, args: [tether, 'redis-server', conf], env: process.env as Record<string, string> });
      redisUrl = `redis://127.0.0.1:${port}`;
      await checkRedis(redisUrl, 10_000, { LLM_REDIS_PASSWORD: redisPassword }).catch(() => {
        throw new CliError('redis-server did not start (install it with `apt-get install -y redis-server`, or pass --redis-url)');
      });
    }

    say('starting kv-manager and tokenizer-service');
    await Promise.all([
      launch('kv-manager', node('kv-manager', {}), 'kv-manager', 60_000),
      launch('tokenizer-service', node('tokenizer-service', { LLM_MODEL: opts.modelDir, LLM_REDIS_URL: redisUrl }), 'tokenizer-service', 60_000),
    ]);

    const workerEnv: Record<string, string> = {
      LLM_MODEL: opts.modelDir,
      LLM_BACKEND: opts.backend,
      LLM_THREADS: String(opts.threads),
      LLM_KV_CACHE_GIB: String(opts.kvCacheGib),
      LLM_BLOCK_SIZE: String(opts.blockSize),
      LLM_KV_MANAGER_ADDRESS: addresses['kv-manager'],
      LLM_QUANTIZE: opts.quantize ?? '',
      LLM_ALLOW_TRACE: String(opts.allowTrace ?? false),
      LLM_SPECULATIVE: opts.speculative?.method ?? '',
      LLM_SPECULATIVE_TOKENS: String(opts.speculative?.numTokens ?? 4),
      LLM_DRAFT_MODEL: opts.speculative?.draftModel ?? '',
      LLM_DRAFT_BACKEND: opts.speculative?.backend ?? '',
      LLM_ORT_MAIN_THREAD: String(opts.ortMainThread ?? false),
      LLM_DECODE_KERNEL: opts.decodeKernel ?? 'wasm',
    };
    if (numExperts > 0) {
      say('starting router');
      await launch('router', node('router', { LLM_MODEL: opts.modelDir, LLM_THREADS: String(opts.threads), LLM_QUANTIZE: opts.quantize ?? '' }, 'router', MODEL_PROCESS_V8_FLAGS), 'router', 120_000);
      workerEnv.LLM_ROUTER_ADDRESS = addresses.router;
    }
    say('starting attention-worker');
    await launch('attention-worker', node('attention-worker', workerEnv, 'attention-worker', MODEL_PROCESS_V8_FLAGS), 'attention-worker', 180_000);

    say('starting orchestrator: scheduler and api roles (BullMQ intake)');
    const orchEnv: Record<string, string> = {
      LLM_MODEL: opts.modelDir,
      LLM_REDIS_URL: redisUrl,
      LLM_KV_MANAGER_ADDRESS: addresses['kv-manager'],
      LLM_WORKER_ADDRESS: addresses['attention-worker'],
      LLM_TOKENIZER_ADDRESS: addresses['tokenizer-service'],
      LLM_MAX_NUM_SEQS: String(opts.maxNumSeqs),
      LLM_MAX_NUM_BATCHED_TOKENS: String(opts.maxNumBatchedTokens),
      LLM_ASYNC_SCHEDULING: String(opts.asyncScheduling ?? true),
      ...(opts.maxPrefillTokensPerStep !== undefined ? { LLM_MAX_PREFILL_TOKENS_PER_STEP: String(opts.maxPrefillTokensPerStep) } : {}),
      ...(opts.maxDecodeDeferMs !== undefined ? { LLM_MAX_DECODE_DEFER_MS: String(opts.maxDecodeDeferMs) } : {}),
      LLM_SERVED_MODEL_NAME: (opts.servedModelNames ?? []).join(','),
      LLM_ALLOW_TRACE: String(opts.allowTrace ?? false),
      ...(opts.maxTraceBytes !== undefined ? { LLM_MAX_TRACE_BYTES: String(opts.maxTraceBytes) } : {}),
      LLM_LEASE_TTL_MS: '10000', // a killed scheduler's requests resume within about this long after its restart
      LLM_STALLED_INTERVAL_MS: '2000',
    };
    const schedulerEnv = { ...orchEnv, LLM_ROLE: 'scheduler', LLM_SCHEDULER_ID: 'serve-scheduler', LLM_HTTP_PORT: '-1' };
    await launch('orchestrator-scheduler', node('orchestrator', schedulerEnv, 'orchestrator-scheduler'), 'orchestrator-scheduler', 120_000);
    const apiEnv = {
      ...orchEnv,
      ...security.orchestrator,
      LLM_ROLE: 'api',
      LLM_HOST: opts.host,
      LLM_GRPC_PORT: String(opts.grpcPort), // 0: the api binds a free one and reports it
      LLM_HTTP_PORT: String(opts.httpPort),
      LLM_DRAIN_TIMEOUT_MS: String(API_DRAIN_MS),
    };
    const api = await launch('orchestrator', node('orchestrator', apiEnv, 'orchestrator-api'), 'orchestrator-api', 120_000);
    const connectHost = opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
    const modelId = opts.servedModelNames?.[0] ?? opts.modelDir.split('/').filter(Boolean).pop() ?? 'model';
    return {
      grpcAddress: addresses.orchestrator,
      httpAddress: api.http !== undefined ? `${connectHost}:${api.http}` : undefined,
      modelId,
      addresses,
      metricsAddresses,
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
