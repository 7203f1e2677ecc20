/**
 * The embedded platform: all five services in one process, wired with the in-process transport,
 * with direct intake (no Redis). The public gRPC server on `grpcPort` serves the Inference API and,
 * for observability, the four internal services too (Tokenizer, KvManager, Worker and, for MoE
 * models, Router), each with grpc.health.v1 and reflection; the OpenAI-compatible HTTP API listens
 * on `httpPort`. API keys and TLS (settings.security) guard both ports, internal services included.
 *
 *   Inference --(in-process)--> Tokenizer, KvManager, Worker --(in-process)--> Router (MoE only)
 *
 * Observability: tracing under the service name `llm-serve` when the OTEL_* environment asks for it,
 * /metrics on the HTTP port and, with `metricsPort` >= 0, on a port of its own.
 *
 * What it is not: service logic. Each service is its app's own factory/module; this file only
 * composes them (the CLI is the one project allowed to import the service apps).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadModelDir, type LoadedModel } from '@llm/model';
import { createInProcessClient, loadConfig, nestLogger, startGrpcServer, startTelemetry, type GrpcServiceBinding } from '@llm/platform';
import { inference, kv, router, tokenizer, worker } from '@llm/proto';
import { createKvManagerService } from '@llm/kv-manager';
import { AttentionWorkerModule, AttentionWorkerService, engineForModel, workerConfigSchema, RouterMoeExecutor } from '@llm/attention-worker';
import { RouterModule, RouterService, routerConfigSchema, routerFromModel } from '@llm/router';
import { createOrchestrator, orchestratorConfigSchema } from '@llm/orchestrator';
import { createTokenizerService } from '@llm/tokenizer-service';
import { checkModelDir } from './preflight';
import type { ServeSettings } from './settings';

export interface EmbeddedOptions extends ServeSettings {
  /** Progress lines (model loading, services starting). */
  onProgress?: (line: string) => void;
  /** A /metrics port of its own (0: a free one; -1 or absent: only the HTTP port's /metrics). */
  metricsPort?: number;
}

export interface EmbeddedPlatform {
  grpcAddress: string;
  httpAddress?: string;
  model: LoadedModel;
  modelId: string;
  /** Refuse new requests and wait up to graceMs for those in flight. */
  drain(graceMs: number): Promise<void>;
  /** host:port of the /metrics server, when metricsPort asked for one. */
  metricsAddress?: string;
  close(): Promise<void>;
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedPlatform> {
  const say = opts.onProgress ?? (() => undefined);
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const telemetry = await startTelemetry('llm-serve', { host: opts.host, metricsPort: opts.metricsPort ?? -1 }); // one process: one service
    closers.push(() => telemetry.close());
    say(`loading model ${opts.modelDir}`);
    checkModelDir(opts.modelDir); // config.json and tokenizer.json (or a GGUF file's): one line naming the file
    const model = await loadModelDir(opts.modelDir, { quantize: opts.quantize });
    const bindings: GrpcServiceBinding[] = [];

    say('starting kv-manager');
    const kvService = await createKvManagerService({ leaseSweepMs: 1000 });
    closers.push(kvService.close);
    const kvClient = createInProcessClient(kv.KvManagerDefinition, kvService.implementation);
    bindings.push({ definition: kv.KvManagerDefinition, implementation: kvService.implementation });

    say('starting tokenizer-service');
    const tok = await createTokenizerService({ modelDirs: [opts.modelDir] });
    closers.push(tok.close);
    const tokClient = createInProcessClient(tokenizer.TokenizerDefinition, tok.implementation);
    bindings.push({ definition: tokenizer.TokenizerDefinition, implementation: tok.implementation });

    let routerClient: ReturnType<typeof createInProcessClient<typeof router.RouterDefinition>> | undefined;
    if (model.config.numExperts > 0) {
      say('starting router');
      const routerConfig = loadConfig(routerConfigSchema, { argv: [], env: {}, overrides: { threads: opts.threads } as never });
      const parts = routerFromModel(model, routerConfig);
      const app = await NestFactory.createApplicationContext(RouterModule.register(parts.moe), { logger: nestLogger('warn'), abortOnError: false });
      await app.init();
      closers.push(() => app.close());
      const svc = app.get(RouterService);
      routerClient = createInProcessClient(router.RouterDefinition, svc);
      bindings.push({ definition: router.RouterDefinition, implementation: svc });
    }

    say(`starting attention-worker (backend ${opts.backend}, ${opts.threads} threads, KV cache ${opts.kvCacheGib} GiB${opts.speculative ? `, speculative ${opts.speculative.method} x${opts.speculative.numTokens}` : ''})`);
    const workerConfig = loadConfig(workerConfigSchema, {
      argv: [],
      env: {},
      overrides: {
        modelDir: opts.modelDir,
        backend: opts.backend,
        threads: opts.threads,
        kvCacheGib: opts.kvCacheGib,
        blockSize: opts.blockSize,
        allowTrace: opts.allowTrace ?? false,
        speculative: opts.speculative?.method ?? '',
        speculativeTokens: opts.speculative?.numTokens ?? 4,
        draftModel: opts.speculative?.draftModel ?? '',
        draftBackend: opts.speculative?.backend ?? '',
        ortMainThread: opts.ortMainThread ?? false,
        decodeKernel: opts.decodeKernel ?? 'wasm',
      },
    });
    const rc = routerClient;
    const engine = await engineForModel(model, workerConfig, rc ? (hidden: number) => new RouterMoeExecutor(rc, hidden) : undefined);
    const workerApp = await NestFactory.createApplicationContext(
      AttentionWorkerModule.register(workerConfig, { engine, kvManager: kvClient, router: routerClient, serveGrpc: false }),
      { logger: nestLogger('warn'), abortOnError: false },
    );
    await workerApp.init();
    closers.push(() => workerApp.close());
    const workerSvc = workerApp.get(AttentionWorkerService);
    const workerClient = createInProcessClient(worker.WorkerDefinition, workerSvc);
    bindings.push({ definition: worker.WorkerDefinition, implementation: workerSvc });

    say('starting orchestrator');
    const orchConfig = loadConfig(orchestratorConfigSchema, {
      argv: [],
      env: {},
      overrides: {
        model: opts.modelDir,
        host: opts.host,
        httpPort: opts.httpPort,
        maxNumSeqs: opts.maxNumSeqs,
        maxNumBatchedTokens: opts.maxNumBatchedTokens,
        asyncScheduling: opts.asyncScheduling ?? false, // in one process the overlap only competes for the cores (README: async scheduling)
        ...(opts.maxPrefillTokensPerStep !== undefined ? { maxPrefillTokensPerStep: opts.maxPrefillTokensPerStep } : {}),
        ...(opts.maxDecodeDeferMs !== undefined ? { maxDecodeDeferMs: opts.maxDecodeDeferMs } : {}),
        redisUrl: '',
        role: 'all',
        servedModelName: opts.servedModelNames ?? [],
        logLevel: opts.logLevel ?? 'info',
        allowTrace: opts.allowTrace ?? false,
        ...(opts.maxTraceBytes !== undefined ? { maxTraceBytes: opts.maxTraceBytes } : {}),
        ...(opts.security ?? {}),
      },
    });
    const orch = await createOrchestrator(orchConfig, { tokenizer: tokClient, kv: kvClient, worker: workerClient });
    closers.push(() => orch.close());

    const server = await startGrpcServer({
      host: opts.host,
      port: opts.grpcPort,
      services: [{ definition: inference.InferenceDefinition, implementation: orch.inference }, ...bindings],
      credentials: orch.security.serverCredentials,
      auth: orch.security.auth,
    });
    closers.push(() => server.close());
    return { grpcAddress: server.address, httpAddress: orch.http, model, modelId: orch.facts.modelId, metricsAddress: telemetry.metrics?.address, drain: (ms) => orch.drain(ms), close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
