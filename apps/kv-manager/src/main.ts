/*
 * Standalone kv-manager: `node apps/kv-manager/dist/src/main.js [--grpc-port 50055]
 * [--host 127.0.0.1] [--lease-sweep-ms 1000] [--tls-cert F --tls-key F [--tls-ca F]]`. Serves
 * llm.kv.v1.KvManager with grpc.health.v1 and reflection; workers register their pools at
 * start-up; drains on SIGTERM. `--help` lists every setting. Start-up errors (a busy port, a bad
 * TLS file) are one line and exit code 1.
 */
import { config } from './args'; // first: answers --help and bad flags before the heavy imports below
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { exitWithParent, GrpcServerHost, nestLogger, reportBoundPorts, reservePort, runMain, setLogLevel, startTelemetry } from '@llm/platform';
import { KvManagerModule } from './kv-manager.module';

async function main(): Promise<void> {
  exitWithParent();
  setLogLevel(config.logLevel);
  await reservePort(config.host, config.grpcPort); // before any outgoing connection can take it as its local port
  const telemetry = await startTelemetry('kv-manager', config); // tracing (when OTEL_* asks) and /metrics on --metrics-port
  const app = await NestFactory.createApplicationContext(KvManagerModule.register(config, true), {
    logger: nestLogger(config.logLevel),
    abortOnError: false,
  });
  app.enableShutdownHooks();
  process.stdout.write(`kv-manager: serving llm.kv.v1.KvManager on ${app.get(GrpcServerHost).address}\n`);
  reportBoundPorts({ grpc: app.get(GrpcServerHost).port, metrics: telemetry.metrics?.port }); // to `llm serve --distributed`, which started it on port 0
}

runMain('kv-manager', main);
