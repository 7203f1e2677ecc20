/**
 * RouterModule: the Router service as a NestJS module. `register` takes a ready RouterMoe (the
 * composition root loads the model) and, when `grpc` is given, serves it over gRPC with health
 * and reflection through the platform's GrpcServerHost (TLS/mTLS when the options carry
 * credentials). Without `grpc` (embedded mode) the RouterService is used through the platform's
 * in-process client. `registerIdle` serves the IdleRouterService of a dense model instead.
 */
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { GRPC_SERVER_OPTIONS, GRPC_SERVICES, GrpcServerHost, type GrpcHostOptions } from '@llm/platform';
import { router } from '@llm/proto';
import type { IdleRouterService } from './idle-router.service';
import { RouterMoe } from './router-moe';
import { ROUTER_MOE, RouterService } from './router.service';

export type RouterGrpcOptions = Omit<GrpcHostOptions, 'name'>;

function grpcProviders(grpc: RouterGrpcOptions, implementation: Provider | object, inject: Provider[] = []): Provider[] {
  const options: GrpcHostOptions = { ...grpc, name: 'router' };
  return [
    { provide: GRPC_SERVER_OPTIONS, useValue: options },
    typeof implementation === 'function'
      ? { provide: GRPC_SERVICES, useFactory: (svc: object) => [{ definition: router.RouterDefinition, implementation: svc }], inject: [implementation as never] }
      : { provide: GRPC_SERVICES, useValue: [{ definition: router.RouterDefinition, implementation }] },
    ...inject,
    GrpcServerHost,
  ];
}

@Module({})
export class RouterModule {
  static register(moe: RouterMoe, grpc?: RouterGrpcOptions): DynamicModule {
    const providers: Provider[] = [{ provide: ROUTER_MOE, useValue: moe }, RouterService];
    if (grpc) providers.push(...grpcProviders(grpc, RouterService));
    return { module: RouterModule, providers, exports: [RouterService, ...(grpc ? [GrpcServerHost] : [])] };
  }

  /** The router of a dense model: health SERVING, Dispatch refused (see IdleRouterService). */
  static registerIdle(idle: IdleRouterService, grpc: RouterGrpcOptions): DynamicModule {
    return { module: RouterModule, providers: grpcProviders(grpc, idle), exports: [GrpcServerHost] };
  }
}
