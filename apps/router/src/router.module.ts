/**
 * RouterModule: the Router service as a NestJS module. `register` takes a ready RouterMoe (the
 * composition root loads the model) and, when `grpc` is given, serves it over gRPC with health
 * and reflection through the platform's GrpcServerHost. Without `grpc` (embedded mode) the
 * RouterService is used through the platform's in-process client.
 */
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { GRPC_SERVER_OPTIONS, GRPC_SERVICES, GrpcServerHost, type GrpcHostOptions } from '@llm/platform';
import { router } from '@llm/proto';
import { RouterMoe } from './router-moe';
import { ROUTER_MOE, RouterService } from './router.service';

@Module({})
export class RouterModule {
  static register(moe: RouterMoe, grpc?: { host: string; port: number }): DynamicModule {
    const providers: Provider[] = [{ provide: ROUTER_MOE, useValue: moe }, RouterService];
    if (grpc) {
      const options: GrpcHostOptions = { host: grpc.host, port: grpc.port, name: 'router' };
      providers.push(
        { provide: GRPC_SERVER_OPTIONS, useValue: options },
        {
          provide: GRPC_SERVICES,
          useFactory: (svc: RouterService) => [{ definition: router.RouterDefinition, implementation: svc }],
          inject: [RouterService],
        },
        GrpcServerHost,
      );
    }
    return { module: RouterModule, providers, exports: [RouterService, ...(grpc ? [GrpcServerHost] : [])] };
  }
}
