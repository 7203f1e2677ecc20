/*
 * Standalone entry of the attention worker: load the settings (flags > env > defaults), load the
 * model directory, size the KV pool, register it with the kv-manager when one is configured, and
 * serve llm.worker.v1 over gRPC until SIGTERM/SIGINT.
 *
 * What this is not: embedded mode (`llm serve` composes every service in one process from index.ts).
 */
import { config } from './args'; // first: answers --help and bad flags before the heavy imports below
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { clientCredentials, connectGrpc, exitWithParent, GrpcServerHost, nestLogger, reportBoundPorts, reservePort, runMain, setLogLevel, startTelemetry } from '@llm/platform';
import { router } from '@llm/proto';
import { AttentionWorkerModule } from './attention-worker.module';
import { AttentionWorkerService } from './attention-worker.service';
import { RouterMoeExecutor } from './router-moe-executor';
import { loadWorkerEngine } from './worker-engine';

async function main(): Promise<void> {
  exitWithParent();
  setLogLevel(config.logLevel);
  await reservePort(config.host, config.grpcPort); // before any outgoing connection can take it as its local port
  const telemetry = await startTelemetry('attention-worker', config); // tracing (when OTEL_* asks) and /metrics on --metrics-port
  // Load the model before the container starts, so a bad directory is one clear line, not a DI trace.
  const routerConn = config.routerAddress
    ? connectGrpc(router.RouterDefinition, config.routerAddress, { credentials: clientCredentials(config) })
    : undefined;
  const moe = routerConn ? (hiddenSize: number) => new RouterMoeExecutor(routerConn.client, hiddenSize) : undefined;
  const engine = await loadWorkerEngine(config, moe);
  const app = await NestFactory.createApplicationContext(AttentionWorkerModule.register(config, { engine, router: routerConn?.client }), {
    logger: nestLogger(config.logLevel),
    abortOnError: false, // start-up errors reach the one-line handler below
  });
  app.enableShutdownHooks();
  const { pool, backend } = app.get(AttentionWorkerService).runner;
  const host = app.get(GrpcServerHost);
  const q4 = (backend as { q4Kernel?: string }).q4Kernel; // the wasm decoder's Q4_0 kernel, where it runs one
  process.stdout.write(
    `attention-worker ${config.workerId} serving on ${host.address} (backend ${backend.name}${q4 && !q4.startsWith('no ') ? `, Q4_0 kernel ${q4}` : ''}, ${pool.numBlocks} blocks x ${pool.blockSize} tokens)\n`,
  );
  reportBoundPorts({ grpc: host.port, metrics: telemetry.metrics?.port }); // to `llm serve --distributed`, which started it on port 0
}

runMain('attention-worker', main);
