/*
 * Failures and deadlines over the real gRPC transport: a Generate whose deadline passes ends with
 * DEADLINE_EXCEEDED at the client and the scheduler frees its blocks; a worker that fails a step
 * ends the affected requests with an error (no hang), frees their blocks, and the next request
 * succeeds. The pool is asserted whole after each.
 */
import { connectGrpc, createInProcessClient, startGrpcServer, type RunningGrpcServer } from '@llm/platform';
import { inference, kv } from '@llm/proto';
import { createOrchestrator, type Orchestrator } from '../src';
import { expectPoolWhole, kvImplementation, startTestPlatform, testConfig, type TestPlatform } from './support/platform';

let p: TestPlatform;
let server: RunningGrpcServer;

beforeAll(async () => {
  p = await startTestPlatform({ numBlocks: 96, blockSize: 4 });
  server = await startGrpcServer({ port: 0, services: [{ definition: inference.InferenceDefinition, implementation: p.orch.inference }] });
});
afterAll(async () => {
  await server.close(100);
  await p.close();
});

const long = inference.GenerateRequest.fromPartial({ prompt: 'The model', sampling: { temperature: 0, maxTokens: 200, ignoreEos: true } });

async function waitIdle(o: Orchestrator): Promise<void> {
  for (let i = 0; i < 100 && (o.scheduler?.numRunning || o.scheduler?.numWaiting); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 30));
}

it('a Generate past its deadline is DEADLINE_EXCEEDED and its blocks are freed', async () => {
  const conn = connectGrpc(inference.InferenceDefinition, server.address);
  try {
    let n = 0;
    const run = (async () => {
      for await (const d of conn.client.generate(long, { deadline: new Date(Date.now() + 150) })) n += d.tokenIds.length;
    })();
    await expect(run).rejects.toMatchObject({ code: 4 });
    expect(n).toBeLessThan(200);
  } finally {
    conn.close();
  }
  await waitIdle(p.orch);
  expectPoolWhole(p.pools);
});

it('ListModels and GetModelInfo describe the served model over gRPC', async () => {
  const conn = connectGrpc(inference.InferenceDefinition, server.address);
  try {
    const info = await conn.client.getModelInfo({});
    expect(info).toMatchObject({ model: 'tiny-llama', vocabSize: p.model.config.vocabSize, numLayers: p.model.config.numLayers, maxContextTokens: p.model.config.maxPositions });
    expect((await conn.client.listModels({})).models).toEqual([info]);
    const tok = await conn.client.tokenize({ text: 'hello world', addSpecialTokens: false });
    expect((await conn.client.detokenize({ tokenIds: tok.tokenIds })).text).toBe('hello world');
  } finally {
    conn.close();
  }
});

it('a worker that fails a step ends the requests with an error and frees their blocks', async () => {
  let failAfter = 3;
  const flaky = {
    ...p.worker.client,
    step: (...args: Parameters<typeof p.worker.client.step>) => (--failAfter === 0 ? Promise.reject(new Error('worker lost its GPU')) : p.worker.client.step(...args)),
  };
  const kvClient = createInProcessClient(kv.KvManagerDefinition, kvImplementation(p.pools));
  const orch = await createOrchestrator(testConfig({ schedulerId: 'flaky' }), { kv: kvClient, worker: flaky });
  try {
    await expect(orch.inference.complete(long)).rejects.toMatchObject({ code: 14, details: expect.stringContaining('worker lost its GPU') });
    await waitIdle(orch);
    expectPoolWhole(p.pools);
    const ok = await orch.inference.complete(inference.GenerateRequest.fromPartial({ prompt: 'hi', sampling: { temperature: 0, maxTokens: 3, ignoreEos: true } }));
    expect(ok.choices[0].tokenIds).toHaveLength(3);
  } finally {
    await orch.close();
  }
  expectPoolWhole(p.pools);
});
