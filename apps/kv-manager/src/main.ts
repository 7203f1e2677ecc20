/*
 * Standalone kv-manager: `node apps/kv-manager/dist/src/main.js [--grpc-port 50055]
 * [--host 127.0.0.1] [--lease-sweep-ms 1000]`. Serves llm.kv.v1.KvManager with
 * grpc.health.v1 and reflection; workers register their pools at start-up; drains on SIGTERM.
 * Start-up errors (a busy port, a bad flag) are one line and exit code 1.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { exitWithParent, GrpcServerHost, loadConfig, nestLogger, runMain } from '@llm/platform';
import { kvManagerConfigSchema } from './kv-manager.config';
import { KvManagerModule } from './kv-manager.module';

async function main(): Promise<void> {
  exitWithParent();
  const config = loadConfig(kvManagerConfigSchema);
  const app = await NestFactory.createApplicationContext(KvManagerModule.register(config, true), {
    logger: nestLogger(['error', 'warn', 'log']),
    abortOnError: false,
  });
  app.enableShutdownHooks();
  process.stdout.write(`kv-manager: serving llm.kv.v1.KvManager on ${app.get(GrpcServerHost).address}\n`);
}

runMain('kv-manager', main);
