/*
 * Standalone entry of the orchestrator: load the settings (flags > env > defaults), connect to the
 * kv-manager and worker over gRPC, and run the role asked for: serve llm.inference.v1 over gRPC
 * and the OpenAI-compatible HTTP API (all, api), and/or consume requests and drive the worker
 * (all, scheduler), until SIGTERM/SIGINT (which drain: no new requests, in-flight ones finish
 * up to --drain-timeout-ms; a second signal stops at once). Start-up errors are one line; Redis
 * gets --redis-wait-ms to answer.
 *
 * What this is not: embedded mode (`llm serve` composes every service in one process).
 */
import { config } from './args'; // first: answers --help and bad flags before the heavy imports below
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { exitWithParent, GrpcServerHost, nestLogger, redisUrlWithPassword, portOf, reportBoundPorts, reservePort, runMain, setLogLevel, startTelemetry, waitForRedis } from '@llm/platform';
import { ORCHESTRATOR, OrchestratorModule } from './orchestrator.module';
import { checkRoleConfig, httpPortInUseError, type Orchestrator } from './orchestrator.factory';

async function main(): Promise<void> {
  exitWithParent();
  setLogLevel(config.logLevel);
  await reservePort(config.host, config.grpcPort); // before any outgoing connection can take it as its local port
  if (config.role !== 'scheduler' && config.httpPort > 0) await reservePort(config.host, config.httpPort, httpPortInUseError);
  const telemetry = await startTelemetry(config.role === 'all' ? 'orchestrator' : `orchestrator-${config.role}`, config); // tracing (when OTEL_* asks) and /metrics on --metrics-port
  checkRoleConfig(config); // one clear line before the container starts, not a DI trace
  if (config.redisUrl) await waitForRedis(redisUrlWithPassword(config.redisUrl, config), config.redisWaitMs);
  const app = await NestFactory.createApplicationContext(OrchestratorModule.register(config), {
    logger: nestLogger(config.logLevel),
    abortOnError: false,
  });
  app.enableShutdownHooks();
  const orch = app.get<Orchestrator>(ORCHESTRATOR);
  const grpc = `gRPC on ${app.get(GrpcServerHost).address}${config.role === 'scheduler' ? ' (health only)' : ''}`;
  process.stdout.write(`orchestrator (${config.role}) serving ${orch.facts.modelId}: ${grpc}${orch.http ? `, HTTP on ${orch.http}` : ''}\n`);
  // to `llm serve --distributed`, which started it on port 0
  reportBoundPorts({ grpc: app.get(GrpcServerHost).port, metrics: telemetry.metrics?.port, http: orch.http ? portOf(orch.http) : undefined });
}

runMain('orchestrator', main);
