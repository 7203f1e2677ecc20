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
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { describeConfig, exitWithParent, GrpcServerHost, loadConfig, nestLogger, runMain, waitForRedis } from '@llm/platform';
import { orchestratorConfigSchema } from './orchestrator.config';
import { ORCHESTRATOR, OrchestratorModule } from './orchestrator.module';
import { checkRoleConfig, type Orchestrator } from './orchestrator.factory';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`orchestrator: serves llm.inference.v1 and the OpenAI-compatible HTTP API\n${describeConfig(orchestratorConfigSchema)}\n`);
    return;
  }
  exitWithParent();
  const config = loadConfig(orchestratorConfigSchema, { strict: true });
  checkRoleConfig(config); // one clear line before the container starts, not a DI trace
  if (config.redisUrl) await waitForRedis(config.redisUrl, config.redisWaitMs);
  const app = await NestFactory.createApplicationContext(OrchestratorModule.register(config), { logger: nestLogger(['log', 'warn', 'error']), abortOnError: false });
  app.enableShutdownHooks();
  const orch = app.get<Orchestrator>(ORCHESTRATOR);
  const grpc = `gRPC on ${app.get(GrpcServerHost).address}${config.role === 'scheduler' ? ' (health only)' : ''}`;
  process.stdout.write(`orchestrator (${config.role}) serving ${orch.facts.modelId}: ${grpc}${orch.http ? `, HTTP on ${orch.http}` : ''}\n`);
}

runMain('orchestrator', main);
