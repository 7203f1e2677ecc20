/*
 * Standalone entry of the orchestrator: load the settings (flags > env > defaults), connect to the
 * kv-manager and worker over gRPC, and run the role asked for: serve llm.inference.v1 over gRPC
 * and the OpenAI-compatible HTTP API (all, api), and/or consume requests and drive the worker
 * (all, scheduler), until SIGTERM/SIGINT.
 *
 * What this is not: embedded mode (`llm serve` composes every service in one process).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, describeConfig, GrpcServerHost, loadConfig } from '@llm/platform';
import { orchestratorConfigSchema } from './orchestrator.config';
import { ORCHESTRATOR, OrchestratorModule } from './orchestrator.module';
import { checkRoleConfig, type Orchestrator } from './orchestrator.factory';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`orchestrator: serves llm.inference.v1 and the OpenAI-compatible HTTP API\n${describeConfig(orchestratorConfigSchema)}\n`);
    return;
  }
  const config = loadConfig(orchestratorConfigSchema, { strict: true });
  checkRoleConfig(config); // one clear line before the container starts, not a DI trace
  const app = await NestFactory.createApplicationContext(OrchestratorModule.register(config), { logger: ['log', 'warn'], abortOnError: false });
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
