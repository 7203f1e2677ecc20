/*
 * Test harness for the attention worker: writes random-weight model directories, boots the
 * worker's NestJS module (gRPC on an ephemeral 127.0.0.1 port, or in-process), and computes the
 * reference greedy generation with the library's Transformer (what `llm generate` runs),
 * recording the top-2 logit margin of every step.
 *
 * What this is not: a fixture of hard-coded outputs; every expectation is computed by the reference.
 */
import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connectGrpc, createInProcessClient, GrpcServerHost } from '@llm/platform';
import { worker } from '@llm/proto';
import { generate, initRandomModel, saveModelDir, type Arch, type Transformer } from '@llm/model';
import { AttentionWorkerModule, AttentionWorkerService, type WorkerConfig, type WorkerDeps } from '../src';
import type { WorkerClient } from './test-scheduler';

export type Transport = 'grpc' | 'in-process';

export function writeModelDir(arch: Arch, seed: number, overrides: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `worker-${arch}-`));
  const { config, weights } = initRandomModel(arch, overrides, seed);
  saveModelDir(dir, config, weights);
  return dir;
}

export function workerConfig(modelDir: string, over: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    modelDir, modelId: '', workerId: 'worker-test', host: '127.0.0.1', grpcPort: 0, backend: 'ts', threads: 1,
    kvCacheGib: 1 / 1024, blockSize: 4, maxBatchSequences: 64, maxBatchTokens: 1024, kvManagerAddress: '', routerAddress: '', allowTrace: false,
    ...over,
  };
}

export interface BootedWorker {
  app: INestApplicationContext;
  client: WorkerClient;
  service: AttentionWorkerService;
  close(): Promise<void>;
}

export async function bootWorker(config: WorkerConfig, transport: Transport, deps: WorkerDeps = {}): Promise<BootedWorker> {
  const app = await NestFactory.createApplicationContext(AttentionWorkerModule.register(config, { ...deps, serveGrpc: transport === 'grpc' }), {
    logger: false,
  });
  await app.init();
  const service = app.get(AttentionWorkerService);
  if (transport === 'in-process') {
    return { app, service, client: createInProcessClient(worker.WorkerDefinition, service), close: () => app.close() };
  }
  const conn = connectGrpc(worker.WorkerDefinition, app.get(GrpcServerHost).address);
  return {
    app,
    service,
    client: conn.client,
    async close() {
      conn.close();
      await app.close();
    },
  };
}

/** Greedy tokens of the reference generate (what `llm generate` runs) and the smallest top-2 logit margin met. */
export async function referenceGreedy(model: Transformer, prompt: number[], maxTokens: number): Promise<{ tokens: number[]; minMargin: number }> {
  const r = await generate(model, prompt, { maxTokens, sampling: { temperature: 0 } });
  return { tokens: r.tokens, minMargin: Math.min(...r.margins) };
}
