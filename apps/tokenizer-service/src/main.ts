/*
 * Standalone tokenizer-service: `node apps/tokenizer-service/dist/src/main.js
 * [--grpc-port 50052] [--host 127.0.0.1] [--model DIR[,DIR]] [--redis-url redis://...]`.
 * Serves llm.tokenizer.v1.Tokenizer with grpc.health.v1 and reflection; drains on SIGTERM.
 * Start-up errors (a bad tokenizer.json, Redis unreachable for 10 s, a busy port) are one line.
 * `--help` lists every setting.
 */
import { config } from './args'; // first: answers --help and bad flags before the heavy imports below
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { exitWithParent, GrpcServerHost, nestLogger, redisUrlWithPassword, reportBoundPorts, reservePort, runMain, setLogLevel, startTelemetry, waitForRedis } from '@llm/platform';
import { TokenizerServiceModule } from './tokenizer-service.module';

async function main(): Promise<void> {
  exitWithParent();
  setLogLevel(config.logLevel);
  await reservePort(config.host, config.grpcPort); // before any outgoing connection can take it as its local port
  const telemetry = await startTelemetry('tokenizer-service', config); // tracing (when OTEL_* asks) and /metrics on --metrics-port
  if (config.redisUrl) await waitForRedis(redisUrlWithPassword(config.redisUrl, config), 10_000);
  const app = await NestFactory.createApplicationContext(TokenizerServiceModule.register(config, true), {
    logger: nestLogger(config.logLevel),
    abortOnError: false,
  });
  app.enableShutdownHooks();
  const training = config.redisUrl ? `training via BullMQ queue ${config.trainQueue}` : 'training in-process';
  process.stdout.write(`tokenizer-service: serving llm.tokenizer.v1.Tokenizer on ${app.get(GrpcServerHost).address} (${training})\n`);
  reportBoundPorts({ grpc: app.get(GrpcServerHost).port, metrics: telemetry.metrics?.port }); // to `llm serve --distributed`, which started it on port 0
}

runMain('tokenizer-service', main);
