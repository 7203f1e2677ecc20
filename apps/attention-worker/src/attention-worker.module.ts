/*
 * NestJS composition of the attention worker: the engine (model weights + KV pool + backend,
 * loaded from the model directory), the Worker gRPC handlers, the gRPC server host, and the
 * clients of the services it depends on (the router for MoE layers, the kv-manager for pool
 * registration), each given as a client so the same handlers run over gRPC or in-process
 * (embedded mode).
 *
 * What this is not: model or kernel code (libs/model, libs/tensor).
 */
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { clientCredentials, connectGrpc, GRPC_SERVER_OPTIONS, GRPC_SERVICES, GrpcServerHost, serverSecurity } from '@llm/platform';
import { kv, router, worker } from '@llm/proto';
import type { WorkerConfig } from './attention-worker.config';
import { AttentionWorkerService, WORKER_ENGINE, WORKER_KV_MANAGER, type WorkerEngine } from './attention-worker.service';
import type { KvManagerClient } from './kv-registration';
import { RouterMoeExecutor, type RouterClient } from './router-moe-executor';
import { loadWorkerEngine } from './worker-engine';

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
const WORKER_CHANNELS = Symbol('WORKER_CHANNELS');

export interface WorkerDeps {
  /** Router client for MoE layers (default: connect to config.routerAddress; none: experts run in-process). */
  router?: RouterClient;
  /** kv-manager client for pool registration (default: connect to config.kvManagerAddress; none: no registration). */
  kvManager?: KvManagerClient;
  /** An engine built by the caller (tests, embedded mode sharing a loaded model); default: load config.modelDir. */
  engine?: WorkerEngine;
  /** Serve gRPC (default true); embedded mode wires the service with createInProcessClient instead. */
  serveGrpc?: boolean;
}

/** Closes the gRPC channels this module opened, on shutdown. */
@Injectable()
class WorkerChannels implements OnApplicationShutdown {
  constructor(@Inject(WORKER_CHANNELS) private readonly closers: Array<() => void>) {}
  onApplicationShutdown(): void {
    for (const close of this.closers) close();
  }
}

@Module({})
export class AttentionWorkerModule {
  static register(config: WorkerConfig, deps: WorkerDeps = {}): DynamicModule {
    const closers: Array<() => void> = [];
    const credentials = clientCredentials(config);
    let routerClient = deps.router;
    if (!routerClient && config.routerAddress) {
      const conn = connectGrpc(router.RouterDefinition, config.routerAddress, { credentials });
      closers.push(conn.close);
      routerClient = conn.client;
    }
    let kvClient: KvManagerClient | null = deps.kvManager ?? null;
    if (!kvClient && config.kvManagerAddress) {
      const conn = connectGrpc(kv.KvManagerDefinition, config.kvManagerAddress, { credentials });
      closers.push(conn.close);
      kvClient = conn.client;
    }
    const moe = routerClient ? (hiddenSize: number) => new RouterMoeExecutor(routerClient, hiddenSize) : undefined;
    const providers: Provider[] = [
      { provide: WORKER_CONFIG, useValue: config },
      { provide: WORKER_ENGINE, useFactory: () => deps.engine ?? loadWorkerEngine(config, moe) },
      { provide: WORKER_KV_MANAGER, useValue: kvClient },
      { provide: WORKER_CHANNELS, useValue: closers },
      WorkerChannels,
      AttentionWorkerService,
    ];
    if (deps.serveGrpc ?? true) {
      providers.push(
        {
          provide: GRPC_SERVER_OPTIONS,
          useFactory: (svc: AttentionWorkerService) => ({
            host: config.host,
            port: config.grpcPort,
            name: 'attention-worker',
            readiness: svc.readiness,
            ...serverSecurity(config, 'internal'),
          }),
          inject: [AttentionWorkerService],
        },
        {
          provide: GRPC_SERVICES,
          useFactory: (svc: AttentionWorkerService) => [{ definition: worker.WorkerDefinition, implementation: svc }],
          inject: [AttentionWorkerService],
        },
        GrpcServerHost,
      );
    }
    return { module: AttentionWorkerModule, providers, exports: [AttentionWorkerService] };
  }
}
