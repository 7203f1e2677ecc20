/*
 * NestJS composition of the orchestrator for the standalone process: the Orchestrator (built by
 * createOrchestrator from clients of the tokenizer, kv-manager and worker, which this module
 * connects over gRPC unless given), and the gRPC server host for llm.inference.v1 (health and
 * reflection from libs/platform; TLS and API keys from the orchestrator's `security`; the scheduler
 * role serves health only). The HTTP front is started by createOrchestrator itself.
 *
 * What this is not: embedded mode's composition (`llm serve` calls createOrchestrator directly).
 */
import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { clientCredentials, connectGrpc, GRPC_SERVER_OPTIONS, GRPC_SERVICES, GrpcServerHost, type GrpcHostOptions } from '@llm/platform';
import { inference, kv, tokenizer, worker } from '@llm/proto';
import type { OrchestratorConfig } from './orchestrator.config';
import { createOrchestrator, type Orchestrator, type OrchestratorDeps } from './orchestrator.factory';

export const ORCHESTRATOR_CONFIG = Symbol('ORCHESTRATOR_CONFIG');
export const ORCHESTRATOR = Symbol('ORCHESTRATOR');

/** On shutdown: drains (no new requests, in-flight ones finish up to --drain-timeout-ms), then closes the orchestrator and its channels. */
@Injectable()
export class OrchestratorLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(ORCHESTRATOR) readonly orchestrator: Orchestrator & { closeChannels?: () => void },
    @Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig,
  ) {}
  async beforeApplicationShutdown(): Promise<void> {
    await this.orchestrator.drain(this.config.drainTimeoutMs);
  }
  async onApplicationShutdown(): Promise<void> {
    await this.orchestrator.close();
    this.orchestrator.closeChannels?.();
  }
}

@Module({})
export class OrchestratorModule {
  static register(config: OrchestratorConfig, deps?: OrchestratorDeps): DynamicModule {
    // The scheduler role serves no API, only grpc.health.v1 (its probes) on the gRPC port.
    const serveApi = config.role !== 'scheduler';
    return {
      module: OrchestratorModule,
      providers: [
        { provide: ORCHESTRATOR_CONFIG, useValue: config },
        { provide: ORCHESTRATOR, useFactory: () => buildOrchestrator(config, deps) },
        OrchestratorLifecycle,
        {
          provide: GRPC_SERVER_OPTIONS,
          useFactory: (o: Orchestrator): GrpcHostOptions => ({
            host: config.host,
            port: config.grpcPort,
            name: 'orchestrator',
            readiness: o.readiness,
            credentials: o.security.serverCredentials,
            auth: o.security.auth,
          }),
          inject: [ORCHESTRATOR],
        },
        {
          provide: GRPC_SERVICES,
          useFactory: (o: Orchestrator) => (serveApi ? [{ definition: inference.InferenceDefinition, implementation: o.inference }] : []),
          inject: [ORCHESTRATOR],
        },
        GrpcServerHost,
      ],
      exports: [ORCHESTRATOR],
    };
  }
}

async function buildOrchestrator(config: OrchestratorConfig, deps?: OrchestratorDeps): Promise<Orchestrator & { closeChannels: () => void }> {
  const closers: Array<() => void> = [];
  const credentials = clientCredentials(config);
  const connect = <D extends Parameters<typeof connectGrpc>[0]>(def: D, address: string) => {
    const c = connectGrpc(def, address, { credentials });
    closers.push(c.close);
    return c.client;
  };
  const resolved: OrchestratorDeps = deps ?? {
    kv: connect(kv.KvManagerDefinition, config.kvManagerAddress),
    worker: connect(worker.WorkerDefinition, config.workerAddress),
    tokenizer: config.tokenizerAddress ? connect(tokenizer.TokenizerDefinition, config.tokenizerAddress) : undefined,
  };
  const orch = await createOrchestrator(config, resolved);
  return Object.assign(orch, { closeChannels: () => closers.forEach((c) => c()) });
}
