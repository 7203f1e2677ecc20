/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * The worker's two backends behind the same service, over gRPC on 127.0.0.1: the ONNX Runtime
 * graph (`--backend ort`, the default) and the TypeScript kernels (`--backend ts`) generate the
 * reference greedy tokens for every architecture and the same chosen-token logprobs (1e-4); the
 * server answers grpc.health.v1 for llm.worker.v1.Worker; a model directory the worker cannot load
 * fails start-up with FAILED_PRECONDITION naming it.
 * NOTE: the docblock above gives the test realm Node's own typed-array constructors, which
 * onnxruntime-node's outputs need under Jest (see that file); production code is unaffected.
 */
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { HealthCheckResponse_ServingStatus } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcServerHost } from '@llm/platform';
import { SERVICE_NAMES } from '@llm/proto';
import { createRng } from '@llm/tensor';
import { loadModelDir, RunnerError, Transformer, type Arch } from '@llm/model';
import { loadWorkerEngine } from '../src';
import { bootWorker, referenceGreedy, workerConfig, writeModelDir } from './harness';
import { TestScheduler, unevenChunks } from './test-scheduler';

describe.each<Arch>(['llama', 'qwen2', 'mixtral', 'gpt2'])('ort and ts backends behind the worker (%s)', (arch) => {
  const dir = writeModelDir(arch, 300);

  it('both generate the reference greedy tokens with the same logprobs', async () => {
    const model = await loadModelDir(dir);
    const p = Array.from({ length: 10 }, (_, i) => (i * 41 + arch.length) % 500);
    const want = await referenceGreedy(new Transformer(model.config, model.weights), p, 5);
    expect(want.minMargin).toBeGreaterThan(1e-4);
    const runs: Array<{ tokens: number[]; logprobs: number[] }> = [];
    for (const backend of ['ort', 'ts'] as const) {
      const w = await bootWorker(workerConfig(dir, { backend }), 'grpc');
      try {
        expect((await w.client.getModelInfo({})).backend).toBe(backend);
        const info = await w.client.getModelInfo({});
        const got = await new TestScheduler(w.client, 4, info.numBlocks, createRng(12).next).generate([{ id: 's', prompt: p, chunks: unevenChunks(10), maxTokens: 5 }]);
        runs.push(got.get('s') as { tokens: number[]; logprobs: number[] });
      } finally {
        await w.close();
      }
    }
    expect(runs[0].tokens).toEqual(want.tokens);
    expect(runs[1].tokens).toEqual(want.tokens);
    runs[0].logprobs.forEach((lp, i) => expect(Math.abs(lp - runs[1].logprobs[i])).toBeLessThan(1e-4));
  });
});

describe('worker start-up and health', () => {
  it('reports SERVING on grpc.health.v1 for llm.worker.v1.Worker', async () => {
    const w = await bootWorker(workerConfig(writeModelDir('llama', 1), { backend: 'ts' }), 'grpc');
    const channel = createChannel(w.app.get(GrpcServerHost).address);
    try {
      const health = createClient(HealthDefinition, channel);
      const res = await health.check({ service: SERVICE_NAMES.worker });
      expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      channel.close();
      await w.close();
    }
  });

  it('fails with FAILED_PRECONDITION naming a directory it cannot load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'worker-bad-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['BertModel'] }));
    const err = await loadWorkerEngine(workerConfig(dir)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RunnerError);
    expect((err as RunnerError).code).toBe('FAILED_PRECONDITION');
    expect((err as RunnerError).message).toMatch(new RegExp(`cannot load model directory ${dir}: .*architectures`));
  });
});
