/*
 * Standalone entry of the orchestrator: load the settings (flags > env > defaults), connect to the
 * kv-manager and worker over gRPC, and run the role asked for: serve llm.inference.v1 over gRPC
 * and the OpenAI-compatible HTTP API (all, api), and/or consume requests and drive the worker
 * (all, scheduler), until SIGTERM/SIGINT.
 *
 * What this is not: embedded mode (`llm serve` composes every service in one process).
 */
import { config } from './args'; // first: answers --help and bad flags before the heavy imports below
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, GrpcServerHost, nestLogger, setLogLevel, startTelemetry } from '@llm/platform';
import { ORCHESTRATOR, OrchestratorModule } from './orchestrator.module';
import { checkRoleConfig, type Orchestrator } from './orchestrator.factory';

async function main(): Promise<void> {
  setLogLevel(config.logLevel);
  await startTelemetry(config.role === 'all' ? 'orchestrator' : `orchestrator-${config.role}`, config); // tracing (when OTEL_* asks) and /metrics on --metrics-port
  checkRoleConfig(config); // one clear line before the container starts, not a DI trace
  const app = await NestFactory.createApplicationContext(OrchestratorModule.register(config), {
    logger: nestLogger(config.logLevel),
    abortOnError: false,
  });
  app.enableShutdownHooks();
  const orch = app.get<Orchestrator>(ORCHESTRATOR);
  const grpc = config.role === 'scheduler' ? 'no gRPC' : `gRPC on ${app.get(GrpcServerHost).address}`;
  process.stdout.write(`orchestrator (${config.role}) serving ${orch.facts.modelId}: ${grpc}${orch.http ? `, HTTP on ${orch.http}` : ''}\n`);
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`orchestrator: ${message}\n`);
  process.exit(1);
});
