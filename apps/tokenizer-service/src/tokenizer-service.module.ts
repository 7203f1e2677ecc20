/*
 * TokenizerServiceModule: the Tokenizer service as a NestJS module. `register` loads the
 * served models' tokenizers, picks the training runner (BullMQ when redisUrl is set, else
 * in-process) and, when `grpc` is true, serves llm.tokenizer.v1.Tokenizer with health and
 * reflection through the platform's GrpcServerHost. Without it (embedded mode) the service
 * is used through the platform's in-process client.
 */
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { GRPC_SERVER_OPTIONS, GRPC_SERVICES, GrpcServerHost, redisUrlWithPassword, serverSecurity, type GrpcHostOptions } from '@llm/platform';
import { tokenizer } from '@llm/proto';
import type { TokenizerServiceConfig } from './tokenizer-service.config';
import { TokenizerRegistry } from './registry';
import { TOKENIZER_REGISTRY, TRAIN_RUNNER, TokenizerService } from './tokenizer-service.service';
import { BullMqTrainRunner, LocalTrainRunner, type TrainRunner } from './training';

/** Model directories from the comma-separated `model` setting. */
export function modelDirsOf(model: string): string[] {
  return model
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
}

@Module({})
export class TokenizerServiceModule {
  static register(config: TokenizerServiceConfig, grpc: boolean): DynamicModule {
    const redisUrl = redisUrlWithPassword(config.redisUrl, config);
    const runner: TrainRunner = redisUrl
      ? new BullMqTrainRunner(redisUrl, config.trainQueue, config.trainWorker)
      : new LocalTrainRunner();
    const providers: Provider[] = [
      { provide: TOKENIZER_REGISTRY, useFactory: () => new TokenizerRegistry(modelDirsOf(config.model)) },
      { provide: TRAIN_RUNNER, useValue: runner },
      TokenizerService,
    ];
    if (grpc) {
      const options: GrpcHostOptions = { host: config.host, port: config.grpcPort, name: 'tokenizer-service', ...serverSecurity(config, 'internal') };
      providers.push(
        { provide: GRPC_SERVER_OPTIONS, useValue: options },
        {
          provide: GRPC_SERVICES,
          useFactory: (svc: TokenizerService) => [{ definition: tokenizer.TokenizerDefinition, implementation: svc }],
          inject: [TokenizerService],
        },
        GrpcServerHost,
      );
    }
    return { module: TokenizerServiceModule, providers, exports: [TokenizerService, ...(grpc ? [GrpcServerHost] : [])] };
  }
}
