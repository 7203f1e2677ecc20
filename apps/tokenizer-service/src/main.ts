/*
 * Standalone tokenizer-service: `node apps/tokenizer-service/dist/src/main.js
 * [--grpc-port 50052] [--host 127.0.0.1] [--model DIR[,DIR]] [--redis-url redis://...]`.
 * Serves llm.tokenizer.v1.Tokenizer with grpc.health.v1 and reflection; drains on SIGTERM.
 * `--help` lists every setting.
 */
import { config } from './args'; // first: answers --help and bad flags before the heavy imports below
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { GrpcServerHost, nestLogger, setLogLevel, startTelemetry } from '@llm/platform';
import { TokenizerServiceModule } from './tokenizer-service.module';

async function main(): Promise<void> {
  setLogLevel(config.logLevel);
  await startTelemetry('tokenizer-service', config); // tracing (when OTEL_* asks) and /metrics on --metrics-port
  const app = await NestFactory.createApplicationContext(TokenizerServiceModule.register(config, true), {
    logger: nestLogger(config.logLevel),
  });
  app.enableShutdownHooks();
  const training = config.redisUrl ? `training via BullMQ queue ${config.trainQueue}` : 'training in-process';
  process.stdout.write(`tokenizer-service: serving llm.tokenizer.v1.Tokenizer on ${app.get(GrpcServerHost).address} (${training})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`tokenizer-service: ${(err as Error).message}\n`);
  process.exit(1);
});
