/*
 * createOrchestrator: the plain factory the composition root (`llm serve`, tests, main.ts) calls.
 * Given the config and clients of the tokenizer, kv-manager and worker (in-process or gRPC), it
 * reads the worker's model description and the model directory's tokenizer, builds the scheduler
 * (unless role=api), the intake for the role, the Inference implementation, and starts the
 * OpenAI-compatible HTTP server (unless role=scheduler or httpPort=-1).
 *
 *   role=all, no redisUrl : InferenceService -> DirectIntake -> Scheduler            (embedded)
 *   role=all, redisUrl    : InferenceService -> QueueIntake ~Redis~ QueueConsumer -> Scheduler
 *   role=api              : InferenceService -> QueueIntake ~Redis~
 *   role=scheduler        :                               ~Redis~ QueueConsumer -> Scheduler
 *
 * Security (libs/platform/src/security): the API keys and TLS of the public ports come from the
 * config; the HTTP front checks keys itself, and `security` carries the credentials and key check
 * for whoever serves the gRPC API.
 *
 * What it is not: the gRPC server (main.ts / the composition root serve `inference` with
 * libs/platform's startGrpcServer, so the same object runs embedded or standalone).
 */
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { appSecurity, createLogger, errorFields, observeQueueDepth, portInUseError, redisUrlWithPassword, releasePort, type AppSecurity, type Client, type Readiness } from '@llm/platform';
import type { kv, tokenizer, worker } from '@llm/proto';
import { Generation } from './api/generation';
import { InferenceService } from './api/inference.service';
import { poolingOf } from './api/embeddings';
import { derivedMaxPromptChars, loadModelFacts, type ModelFacts } from './api/model-facts';
import { GrammarAdmission } from './api/structured-output';
import { createHttpServer } from './http/http-server';
import { createOpenAiHandler } from './http/openai-server';
import { DirectIntake, type Intake } from './intake/intake';
import { QueueConsumer } from './intake/queue-consumer';
import { QueueIntake } from './intake/queue-intake';
import { orchestratorReadiness, outageTracker } from './health/readiness';
import { GENERATE_QUEUE } from './intake/redis-keys';
import { ObservedIntake } from './observability/api-metrics';
import { schedulerObserver } from './observability/scheduler-observers';
import { observedTokenizer } from './observability/tokenizer';
import type { OrchestratorConfig } from './orchestrator.config';
import { Scheduler } from './scheduler/scheduler';
import type { PlanLimits } from './scheduler/planner';

export interface OrchestratorDeps {
  tokenizer?: Client<tokenizer.TokenizerDefinition>;
  kv: Client<kv.KvManagerDefinition>;
  worker: Client<worker.WorkerDefinition>;
  /** Overrides config.redisUrl. */
  redisUrl?: string;
}

export interface Orchestrator {
  /** The llm.inference.v1.Inference implementation (serve it with startGrpcServer). */
  inference: InferenceService;
  /** host:port of the OpenAI-compatible HTTP server, when one was started. */
  http?: string;
  /** The scheduler (absent for role=api). */
  scheduler?: Scheduler;
  facts: ModelFacts;
  /** What its gRPC health and HTTP /health report (absent in embedded mode: ready while it runs). */
  readiness?: Readiness;
  /** Graceful shutdown, first half: refuse new requests, report not ready, and wait up to graceMs for those in flight. */
  drain(graceMs: number): Promise<void>;
  /** TLS and API keys of the public ports (serve the gRPC API with its serverCredentials and auth). */
  security: AppSecurity;
  close(): Promise<void>;
}

export async function createOrchestrator(config: OrchestratorConfig, deps: OrchestratorDeps): Promise<Orchestrator> {
  const log = createLogger('orchestrator');
  const redisUrl = redisUrlWithPassword(deps.redisUrl ?? config.redisUrl, config);
  checkRoleConfig({ ...config, redisUrl });
  const security = appSecurity(config, 'public');
  if (config.role !== 'scheduler' && !security.auth) log.warn('no API keys configured (--api-key, LLM_API_KEY, --api-keys-file): the API is open to anyone who reaches it');
  const info = await deps.worker.getModelInfo({}).catch((err: Error) => {
    throw new Error(`could not ask the attention worker for its model (check --worker-address ${config.workerAddress}): ${err.message}`);
  });
  const names = config.servedModelName.map((s) => s.trim()).filter(Boolean);
  const facts = loadModelFacts(config.model, names[0] ?? config.modelId, info, names.slice(1));
  const front = config.role !== 'scheduler'; // admits requests (api, all)
  if (front) facts.tokenizer = observedTokenizer(facts.tokenizer, facts.modelId); // prompt encodes: metrics, spans
  const poolId = config.poolId || info.workerId;
  // The kv-manager owner is unique per process, so a restarted scheduler never keeps its predecessor's sequences alive;
  // the worker lease is held under the stable --scheduler-id, so that restart takes its lease back at once.
  const ownerId = `${config.schedulerId || `sched-${hostname()}`}.${process.pid.toString(36)}${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
  const onError = (err: unknown) => log.warn(errorFields(err), 'scheduler error'); // a user error: code and message, no stack
  const scheduler =
    config.role === 'api'
      ? undefined
      : new Scheduler({
          poolId, ownerId, ...stepLimits(config, info), kv: deps.kv, worker: deps.worker, onError,
          dependencyWaitMs: config.dependencyWaitMs,
          numSpeculativeTokens: info.numSpeculativeTokens ?? 0,
          asyncScheduling: config.asyncScheduling,
          renewLease: redisUrl ? async () => void (await deps.kv.renewLease({ ownerId, ttlMs: config.leaseTtlMs })) : undefined,
          onDependency: (state, detail) => (state === 'down' ? log.warn(`worker or kv-manager unavailable (${detail}); holding requests up to ${config.dependencyWaitMs} ms`) : log.info(`worker and kv-manager answer again: ${detail}`)),
          onFinished: (seq, reason, error) => {
            if (reason === 'abort') log.info({ requestId: seq.publicRequestId, sampleIndex: seq.sampleIndex, finishReason: reason, cause: error ? errorLine(error) : 'cancelled' }, 'sample aborted');
          },
          observer: schedulerObserver({ modelName: facts.modelId, engine: poolId, maxModelLen: facts.maxContextTokens }),
        });
  let unobserveQueue: (() => void) | undefined;
  let draining: string | undefined;
  let intake: Intake;
  let consumer: QueueConsumer | undefined;
  let health: { readiness: Readiness; scheduler?: Readiness; close(): void } | undefined;
  if (redisUrl) {
    consumer = scheduler && new QueueConsumer({
      redisUrl, prefix: config.queuePrefix, scheduler, facts, poolId, leaseHolderId: config.schedulerId || ownerId,
      concurrency: config.maxNumSeqs, leaseTtlMs: config.leaseTtlMs, stalledIntervalMs: config.stalledIntervalMs,
      renewKvLease: async (ttlMs) => void (await deps.kv.renewLease({ ownerId, ttlMs })),
      onError,
    });
    const c = consumer;
    health = orchestratorReadiness({
      role: config.role as 'all' | 'api' | 'scheduler', redisUrl, prefix: config.queuePrefix, poolId, kv: deps.kv, worker: deps.worker,
      workerAddress: config.workerAddress, kvManagerAddress: config.kvManagerAddress, leaseProblem: c && (() => c.leaseProblem),
    });
    const queued = new QueueIntake({
      redisUrl, prefix: config.queuePrefix, maxQueuedRequests: config.maxQueuedRequests, dependencyWaitMs: config.dependencyWaitMs,
      admission: () => draining, outage: outageTracker(health.readiness),
    });
    if (front) unobserveQueue = observeQueueDepth(GENERATE_QUEUE, queued.queue); // the queue's depth: the api role's number
    intake = queued;
    if (health.scheduler && c) {
      health.scheduler.onChange((st) => c.setLive(st.ready));
      if (health.scheduler !== health.readiness) void health.scheduler.start();
    }
    void consumer?.start().catch(onError);
    await health.readiness.start();
  } else {
    const s = scheduler as Scheduler;
    intake = new DirectIntake((request) => new Generation(request, facts, s, undefined).start());
  }
  const maxPromptChars = config.maxPromptChars || derivedMaxPromptChars(facts);
  if (front) intake = new ObservedIntake(intake, facts.modelId); // TTFT and latency as the client sees them
  const grammars = facts.supportsGrammar && config.role !== 'scheduler' ? new GrammarAdmission(facts, config.grammarCompileTimeoutMs) : undefined;
  const limits = { maxN: config.maxN, maxPromptChars, admission: () => draining };
  const inference = new InferenceService(facts, intake, limits, grammars, poolingOf(config.model), { allow: config.allowTrace, maxBytes: config.maxTraceBytes });
  let server: Server | undefined;
  let http: string | undefined;
  if (config.role !== 'scheduler' && config.httpPort >= 0) {
    const readiness = health?.readiness;
    const handler = createOpenAiHandler({
      service: inference, facts, auth: security.auth, internals: config.allowTrace,
      limits: { maxBodyBytes: config.maxBodyBytes, maxPromptChars },
      health: () => (draining ? { ready: false, reason: draining } : readiness?.state ?? { ready: true }),
    });
    server = createHttpServer(handler, config, security.tls?.httpsOptions());
    http = await listen(server, config.host, config.httpPort);
  }
  return {
    inference, http, scheduler, facts, security, readiness: health?.readiness,
    async drain(graceMs: number) {
      draining = 'shutting down';
      health?.readiness.drain();
      const until = Date.now() + graceMs;
      while (inference.numActive > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      await consumer?.drain(Math.max(0, until - Date.now()));
    },
    async close() {
      health?.readiness.stop();
      health?.scheduler?.stop();
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
      }
      await consumer?.close();
      unobserveQueue?.();
      await intake.close();
      await scheduler?.close();
      await consumer?.disconnect();
      health?.close();
      await grammars?.close();
    },
  };
}

/** Settings that only make sense together; throws one line naming the flag to fix. */
export function checkRoleConfig(config: Pick<OrchestratorConfig, 'model' | 'role' | 'redisUrl'>): void {
  if (!config.model) throw new Error('--model (LLM_MODEL) is required: the model directory holding tokenizer.json');
  if ((config.role === 'api' || config.role === 'scheduler') && !config.redisUrl) {
    throw new Error(`--role ${config.role} needs --redis-url (LLM_REDIS_URL): requests travel through BullMQ in distributed mode`);
  }
}

/** The configured step limits, never above what the worker accepts in one step. */
function stepLimits(config: OrchestratorConfig, info: worker.GetModelInfoResponse): PlanLimits {
  const maxNumBatchedTokens = Math.min(config.maxNumBatchedTokens, info.maxBatchTokens || Infinity);
  const maxNumSeqs = Math.min(config.maxNumSeqs, info.maxBatchSequences || Infinity, maxNumBatchedTokens);
  return { maxNumSeqs, maxNumBatchedTokens, maxPrefillTokensPerStep: config.maxPrefillTokensPerStep, maxDecodeDeferMs: config.maxDecodeDeferMs };
}

/** The HTTP port's "already in use" line (at the listen, or at main's reservation of the port). */
export const httpPortInUseError = (host: string, port: number): Error => portInUseError('HTTP', '--http-port', host, port);

async function listen(server: Server, host: string, port: number): Promise<string> {
  await releasePort(host, port); // held since main started (libs/platform's port-reservation): free it for this bind
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? httpPortInUseError(host, port) : err);
    });
    server.listen(port, host, () => {
      const addr = server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      resolve(`${host.includes(':') ? `[${host}]` : host}:${p}`);
    });
  });
}

/** An error as one short line for logs (never a stack trace per failure). */
function errorLine(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown };
  const text = typeof e?.details === 'string' ? e.details : typeof e?.message === 'string' ? e.message : String(err);
  return text.split('\n')[0].slice(0, 300);
}
