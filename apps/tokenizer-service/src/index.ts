/*
 * apps/tokenizer-service: the llm.tokenizer.v1 Tokenizer service (encode, decode, streaming
 * detokenization, explain, training, chat templates). Exports what composition roots need:
 * the module, the service, the config schema, and a plain factory for embedded mode.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { nestLogger } from '@llm/platform';
import { loadConfig } from '@llm/platform/config';
import { tokenizerServiceConfigSchema, type TokenizerServiceConfig } from './tokenizer-service.config';
import { TokenizerServiceModule } from './tokenizer-service.module';
import { TokenizerService } from './tokenizer-service.service';

export { tokenizerServiceConfigSchema, type TokenizerServiceConfig } from './tokenizer-service.config';
export { TokenizerServiceModule, modelDirsOf } from './tokenizer-service.module';
export { TokenizerService, TOKENIZER_REGISTRY, TRAIN_RUNNER } from './tokenizer-service.service';
export { TokenizerRegistry, type ServedTokenizer } from './registry';
export { LocalTrainRunner, BullMqTrainRunner, type TrainRunner, type TrainEvent } from './training';

export interface CreateTokenizerServiceOptions {
  /** Model directories whose tokenizer.json to serve (model id = directory name). */
  modelDirs?: string[];
  /** redis:// URL: Train runs as BullMQ jobs; omitted: in-process. */
  redisUrl?: string;
}

/** The service without a server (embedded mode: wrap `implementation` with createInProcessClient). */
export async function createTokenizerService(
  opts: CreateTokenizerServiceOptions = {},
): Promise<{ implementation: TokenizerService; close(): Promise<void> }> {
  const config: TokenizerServiceConfig = loadConfig(tokenizerServiceConfigSchema, {
    argv: [],
    env: {},
    overrides: { grpcPort: 0, model: (opts.modelDirs ?? []).join(','), redisUrl: opts.redisUrl ?? '' },
  });
  const app = await NestFactory.createApplicationContext(TokenizerServiceModule.register(config, false), { logger: nestLogger('warn'), abortOnError: false });
  await app.init();
  return { implementation: app.get(TokenizerService), close: () => app.close() };
}
