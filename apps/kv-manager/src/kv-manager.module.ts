/*
 * KvManagerModule: the KvManager service as a NestJS module. `register` builds the pools
 * (on an injectable clock, so tests can move lease time by hand) and, when `grpc` is given,
 * serves llm.kv.v1.KvManager with health and reflection through the platform's
 * GrpcServerHost (TLS/mTLS from the shared --tls-* settings). Without `grpc` (embedded mode)
 * the service is used through the platform's in-process client.
 */
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { GRPC_SERVER_OPTIONS, GRPC_SERVICES, GrpcServerHost, serverSecurity, type GrpcHostOptions, type TlsSettings } from '@llm/platform';
import { kv } from '@llm/proto';
import { KvPools } from '@llm/kv';
import type { KvManagerConfig } from './kv-manager.config';
import { KV_POOLS, KV_SWEEP_MS, KvManagerService } from './kv-manager.service';

export interface KvManagerDeps {
  /** Milliseconds clock for leases (default Date.now). */
  now?: () => number;
}

@Module({})
export class KvManagerModule {
  static register(
    config: Pick<KvManagerConfig, 'host' | 'grpcPort' | 'leaseSweepMs'> & Partial<TlsSettings>,
    grpc: boolean,
    deps: KvManagerDeps = {},
  ): DynamicModule {
    const providers: Provider[] = [
      { provide: KV_POOLS, useValue: new KvPools({ now: deps.now }) },
      { provide: KV_SWEEP_MS, useValue: config.leaseSweepMs },
      KvManagerService,
    ];
    if (grpc) {
      const options: GrpcHostOptions = { host: config.host, port: config.grpcPort, name: 'kv-manager', ...serverSecurity(config, 'internal') };
      providers.push(
        { provide: GRPC_SERVER_OPTIONS, useValue: options },
        {
          provide: GRPC_SERVICES,
          useFactory: (svc: KvManagerService) => [{ definition: kv.KvManagerDefinition, implementation: svc }],
          inject: [KvManagerService],
        },
        GrpcServerHost,
      );
    }
    return { module: KvManagerModule, providers, exports: [KvManagerService, ...(grpc ? [GrpcServerHost] : [])] };
  }
}
