/**
 * startPlatform(): the distributed platform in containers for integration tests (the project's own
 * and its users'): Redis, kv-manager, tokenizer-service, router (MoE models), attention-worker and
 * the orchestrator split into its scheduler and api roles, all from the one app image
 * (deploy/Dockerfile) on a private Docker network, with the model directory mounted read-only at
 * /models/default. Returns the orchestrator's gRPC and HTTP endpoints on 127.0.0.1.
 *
 *   stage 1:  redis   kv-manager   router (MoE only)                         (in parallel)
 *   stage 2:  attention-worker (registers its pool with the kv-manager)   tokenizer-service (Redis)
 *   stage 3:  orchestrator --role scheduler   orchestrator --role api          (in parallel)
 *
 * Redis requires a random password (given to the apps as LLM_REDIS_PASSWORD); `apiKeys` turns on
 * the orchestrator's API keys. Services reach each other by container IP on the network, not by
 * name: engines started with `dockerd --iptables=false` have no embedded DNS, and IPs work on
 * every engine. Each stage waits for the image's gRPC health check (grpc.health.v1) before the next.
 * Each app container keeps the ports it listens on out of its ephemeral port range
 * (net.ipv4.ip_local_reserved_ports, a per-network-namespace setting): the platform's gRPC ports
 * 50051-50055 lie inside Linux's default range 32768-60999, and connect() prefers even ports there,
 * so an outgoing connection made before the bind (the tokenizer-service's Redis connections, the
 * attention-worker's kv-manager channel) could hold 50052 or 50054 as its local port and fail the
 * app's own bind with "already in use" (see ./ports.ts, reservedPortsSysctl).
 *
 * What it is not: a process launcher (`llm serve --distributed` runs the apps as processes), nor a
 * production deployment (docker-compose.yml and deploy/k8s are). Follows testcontainers' API.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GenericContainer, getContainerRuntimeClient, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { configureTestcontainersEnv, dockerAvailable } from './docker';
import { reservedPortsSysctl } from './ports';
import { waitForPort } from './redis';

/** The containers startPlatform runs, by service name (as in docker-compose.yml). */
export type PlatformService =
  | 'redis'
  | 'kv-manager'
  | 'tokenizer-service'
  | 'router'
  | 'attention-worker'
  | 'orchestrator-scheduler'
  | 'orchestrator-api';

export interface StartPlatformOptions {
  /** Host path of a Hugging Face model directory (mounted read-only at /models/default). */
  model: string;
  /** The app image (default: LLM_IMAGE, else llm-platform/app:local from deploy/images/build-app-image.sh). */
  image?: string;
  /** The Redis image (default: REDIS_IMAGE, else redis:7-alpine). */
  redisImage?: string;
  /** Run the router (default: when config.json has experts; for a dense model it would only idle). */
  router?: boolean;
  /** API keys the orchestrator's public ports require (default none: open). */
  apiKeys?: string[];
  /** Extra environment per service, e.g. { 'attention-worker': { LLM_BACKEND: 'ts' } } (keys: the apps' env names). */
  env?: Partial<Record<PlatformService, Record<string, string>>>;
  /**
   * Extra namespaced kernel settings per service (net.*, as `docker run --sysctl`), applied after the
   * reservation of the service's listening ports, e.g. a narrowed net.ipv4.ip_local_port_range.
   */
  sysctls?: Partial<Record<PlatformService, Record<string, string>>>;
  /** Bound on each container's start, health check included (default 180 s). */
  startupTimeoutMs?: number;
  /** Progress lines ("starting attention-worker"), e.g. `(l) => process.stderr.write(l + '\n')`. */
  onProgress?: (line: string) => void;
}

export interface StartedPlatform {
  /** 127.0.0.1:PORT of llm.inference.v1.Inference (with grpc.health.v1 and reflection). */
  grpcAddress: string;
  /** http://127.0.0.1:PORT of the OpenAI-compatible HTTP API. */
  httpUrl: string;
  /** The running containers by service (a stopped one is removed from here). */
  containers: Partial<Record<PlatformService, StartedTestContainer>>;
  /** Stops and removes one service's container (e.g. to test failover); no-op if it is not running. */
  stopService(service: PlatformService, timeoutMs?: number): Promise<void>;
  /** The last lines a service's container printed (diagnostics). */
  logs(service: PlatformService): string;
  /** Stops and removes every container and the network. Safe to call twice. */
  stop(): Promise<void>;
}

const MODEL_PATH = '/models/default';
const PORTS = { redis: 6379, orchestrator: 50051, http: 8080, tokenizer: 50052, router: 50053, worker: 50054, kv: 50055 } as const;
const LOG_LINES = 200;

export async function startPlatform(options: StartPlatformOptions): Promise<StartedPlatform> {
  const modelDir = checkModelDir(options.model);
  if (!(await dockerAvailable())) {
    throw new Error('startPlatform: no Docker engine answers (start dockerd, or set DOCKER_HOST to a reachable engine)');
  }
  configureTestcontainersEnv();
  const run = new PlatformRun(options, modelDir);
  try {
    await run.startAll();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await run.stop();
    throw new Error(`startPlatform: ${message}`);
  }
  return run.handle();
}

/** The model dir must hold config.json and be readable by the containers' user (uid 1000). */
function checkModelDir(dir: string): string {
  const abs = resolve(dir);
  if (!existsSync(join(abs, 'config.json'))) {
    throw new Error(`startPlatform: model dir ${abs} has no config.json (expected a Hugging Face model directory)`);
  }
  const mode = statSync(abs).mode;
  if ((mode & 0o005) !== 0o005) {
    throw new Error(
      `startPlatform: model dir ${abs} has mode ${(mode & 0o777).toString(8)}; the containers run as uid 1000 and need o+rx (chmod -R a+rX ${abs})`,
    );
  }
  accessSync(join(abs, 'config.json'), constants.R_OK);
  return abs;
}

/** Mixtral-style configs name their expert count num_local_experts (Qwen-MoE: num_experts). */
function hasExperts(modelDir: string): boolean {
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  return Number(config.num_local_experts ?? config.num_experts ?? 0) > 0;
}

/** The ports an app listens on, from its environment (gRPC, HTTP when on, metrics when set). */
function listeningPorts(env: Record<string, string>): number[] {
  return ['LLM_GRPC_PORT', 'LLM_HTTP_PORT', 'LLM_METRICS_PORT'].map((k) => Number(env[k] ?? -1)).filter((p) => Number.isInteger(p) && p > 0);
}

/** GenericContainer with the engine's per-container sysctls (HostConfig.Sysctls), which testcontainers has no method for. */
class AppContainer extends GenericContainer {
  withSysctls(sysctls: Record<string, string>): this {
    this.hostConfig.Sysctls = { ...(this.hostConfig.Sysctls ?? {}), ...sysctls };
    return this;
  }
}

class PlatformRun {
  readonly containers: Partial<Record<PlatformService, StartedTestContainer>> = {};
  private readonly logLines = new Map<PlatformService, string[]>();
  private network?: StartedNetwork;
  private readonly image: string;
  private readonly redisImage: string;
  private readonly timeoutMs: number;
  private readonly runId = `${process.pid}-${Date.now().toString(36)}`;
  private readonly redisPassword = randomBytes(16).toString('hex');
  private stopped = false;

  constructor(
    private readonly options: StartPlatformOptions,
    private readonly modelDir: string,
  ) {
    this.image = options.image ?? process.env.LLM_IMAGE ?? 'llm-platform/app:local';
    this.redisImage = options.redisImage ?? process.env.REDIS_IMAGE ?? 'redis:7-alpine';
    this.timeoutMs = options.startupTimeoutMs ?? 180_000;
  }

  async startAll(): Promise<void> {
    this.network = await new Network().start();
    const withRouter = this.options.router ?? hasExperts(this.modelDir);
    await this.startStage(['redis', 'kv-manager', ...(withRouter ? (['router'] as const) : [])]);
    await this.startStage(['attention-worker', 'tokenizer-service']);
    await this.startStage(['orchestrator-scheduler', 'orchestrator-api']);
    const api = this.containers['orchestrator-api'] as StartedTestContainer;
    await waitForPort('127.0.0.1', api.getMappedPort(PORTS.orchestrator), 10_000);
  }

  /** Starts services in parallel; waits for all to settle so none is left behind on failure. */
  private async startStage(services: PlatformService[]): Promise<void> {
    const results = await Promise.allSettled(services.map((s) => this.startService(s)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ service: services[i], err: r.reason as unknown }] : []));
    if (failed.length === 0) return;
    const lines = failed.map(({ service, err }) => {
      const tail = this.logs(service).split('\n').slice(-8).join('\n    ');
      return `${service} did not become healthy: ${err instanceof Error ? err.message : String(err)}${tail ? `\n    ${tail}` : ''}`;
    });
    throw new Error(`${lines.join('\n')}\n(image ${this.image}; build it with deploy/images/build-app-image.sh or set LLM_IMAGE)`);
  }

  private async startService(service: PlatformService): Promise<void> {
    this.options.onProgress?.(`starting ${service}`);
    const network = this.network as StartedNetwork;
    const lines: string[] = [];
    this.logLines.set(service, lines);
    let container: GenericContainer;
    if (service === 'redis') {
      container = new GenericContainer(this.redisImage)
        .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--requirepass', this.redisPassword])
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/));
    } else {
      const [command, appEnv, ports] = this.appSpec(service);
      const env = { ...appEnv, ...(this.options.env?.[service] ?? {}) };
      container = new AppContainer(this.image)
        .withSysctls({ ...reservedPortsSysctl(listeningPorts(env)), ...(this.options.sysctls?.[service] ?? {}) })
        .withCommand(command)
        .withEnvironment(env)
        .withBindMounts([{ source: this.modelDir, target: MODEL_PATH, mode: 'ro' }])
        .withExposedPorts(...ports)
        .withWaitStrategy(Wait.forHealthCheck());
    }
    const started = await container
      .withNetwork(network)
      .withName(`llm-${service}-${this.runId}`)
      .withLabels({ 'llm-platform.run': this.runId, 'llm-platform.service': service })
      .withStartupTimeout(this.timeoutMs)
      .withLogConsumer((stream) => {
        stream.on('data', (chunk: Buffer | string) => {
          lines.push(...String(chunk).split('\n').filter((l) => l.trim() !== ''));
          if (lines.length > LOG_LINES) lines.splice(0, lines.length - LOG_LINES);
        });
        stream.on('error', () => undefined);
      })
      .start();
    this.containers[service] = started;
    if (this.stopped) await started.stop({ timeout: 1_000 }).catch(() => undefined);
    this.options.onProgress?.(`${service} is healthy`);
  }

  private ip(service: PlatformService): string {
    const c = this.containers[service];
    if (!c) throw new Error(`${service} is not running`);
    return c.getIpAddress((this.network as StartedNetwork).getName());
  }

  private redisUrl(): string {
    return `redis://${this.ip('redis')}:${PORTS.redis}`;
  }

  /** The Redis settings of an app that uses it (the password travels apart from the URL). */
  private redisEnv(): Record<string, string> {
    return { LLM_REDIS_URL: this.redisUrl(), LLM_REDIS_PASSWORD: this.redisPassword };
  }

  /** Command, environment (the apps' env names, ARCHITECTURE.md's ports) and exposed ports of an app service. */
  private appSpec(service: Exclude<PlatformService, 'redis'>): [string[], Record<string, string>, number[]] {
    const base = { LLM_HOST: '0.0.0.0', LLM_MODEL: MODEL_PATH };
    switch (service) {
      case 'kv-manager':
        return [['kv-manager'], { ...base, LLM_GRPC_PORT: String(PORTS.kv) }, []];
      case 'tokenizer-service': // serves the model's tokenizer.json (LLM_MODEL); Train runs as BullMQ jobs
        return [['tokenizer-service'], { ...base, LLM_GRPC_PORT: String(PORTS.tokenizer), ...this.redisEnv() }, []];
      case 'router':
        return [['router'], { ...base, LLM_GRPC_PORT: String(PORTS.router), LLM_THREADS: '1' }, []];
      case 'attention-worker': {
        const router = this.containers.router ? `${this.ip('router')}:${PORTS.router}` : '';
        const env = { ...base, LLM_GRPC_PORT: String(PORTS.worker), LLM_WORKER_ID: 'worker-0', LLM_THREADS: '1' };
        return [
          ['attention-worker'],
          { ...env, LLM_KV_CACHE_GIB: '0.05', LLM_KV_MANAGER_ADDRESS: `${this.ip('kv-manager')}:${PORTS.kv}`, LLM_ROUTER_ADDRESS: router },
          [],
        ];
      }
      case 'orchestrator-scheduler':
      case 'orchestrator-api': {
        const role = service === 'orchestrator-api' ? 'api' : 'scheduler';
        const env: Record<string, string> = {
          ...base,
          LLM_ROLE: role,
          LLM_GRPC_PORT: String(PORTS.orchestrator),
          LLM_HTTP_PORT: role === 'api' ? String(PORTS.http) : '-1',
          ...this.redisEnv(),
          LLM_KV_MANAGER_ADDRESS: `${this.ip('kv-manager')}:${PORTS.kv}`,
          LLM_WORKER_ADDRESS: `${this.ip('attention-worker')}:${PORTS.worker}`,
          LLM_TOKENIZER_ADDRESS: `${this.ip('tokenizer-service')}:${PORTS.tokenizer}`,
        };
        if (role === 'api' && this.options.apiKeys?.length) env.LLM_API_KEY = this.options.apiKeys.join(',');
        return [['orchestrator'], env, role === 'api' ? [PORTS.orchestrator, PORTS.http] : []];
      }
    }
  }

  logs(service: PlatformService): string {
    return (this.logLines.get(service) ?? []).join('\n');
  }

  async stopService(service: PlatformService, timeoutMs = 5_000): Promise<void> {
    const c = this.containers[service];
    if (!c) return;
    delete this.containers[service];
    await c.stop({ timeout: timeoutMs });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const running = Object.keys(this.containers) as PlatformService[];
    await Promise.allSettled(running.map((s) => this.stopService(s, 2_000)));
    await this.removeLeftovers();
    await this.network?.stop().catch(() => undefined);
    this.network = undefined;
  }

  /** Any running container of this run not in `containers` (e.g. one whose start was interrupted) is removed by its label. */
  private async removeLeftovers(): Promise<void> {
    const client = await getContainerRuntimeClient();
    const mine = (await client.container.list()).filter((c) => c.Labels?.['llm-platform.run'] === this.runId);
    const removeOne = async (id: string) => {
      const c = client.container.getById(id);
      await client.container.stop(c, { timeout: 0 });
      await client.container.remove(c, { removeVolumes: true });
    };
    await Promise.allSettled(mine.map((c) => removeOne(c.Id)));
  }

  handle(): StartedPlatform {
    const api = this.containers['orchestrator-api'] as StartedTestContainer;
    return {
      grpcAddress: `127.0.0.1:${api.getMappedPort(PORTS.orchestrator)}`,
      httpUrl: `http://127.0.0.1:${api.getMappedPort(PORTS.http)}`,
      containers: this.containers,
      stopService: (service, timeoutMs) => this.stopService(service, timeoutMs),
      logs: (service) => this.logs(service),
      stop: () => this.stop(),
    };
  }
}
