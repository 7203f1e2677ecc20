/*
 * Logs of the orchestrator at --log-level debug over the embedded test platform, read as the JSON
 * lines pino writes: every line is JSON; every line about a request carries its request id (the
 * HTTP `x-request-id` header), and the scheduler's lines also its sequence id and worker id; user
 * errors (bad requests over HTTP and gRPC) leave no stack trace in any line; errorFields keeps the
 * stack of internal errors only.
 */
import { Writable } from 'node:stream';
import { connectGrpc, errorFields, invalidArgument, setLogDestination, setLogLevel, startGrpcServer, type RunningGrpcServer } from '@llm/platform';
import { inference } from '@llm/proto';
import { startTestPlatform, type TestPlatform } from './support/platform';

const lines: string[] = [];
let p: TestPlatform;
let grpc: RunningGrpcServer;

beforeAll(async () => {
  setLogDestination(new Writable({ write: (chunk, _enc, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) }));
  setLogLevel('debug');
  p = await startTestPlatform({ numBlocks: 64, blockSize: 4, config: { httpPort: 0, logLevel: 'debug' } });
  grpc = await startGrpcServer({ port: 0, services: [{ definition: inference.InferenceDefinition, implementation: p.orch.inference }] });
});
afterAll(async () => {
  await grpc.close(100);
  await p.close();
  setLogLevel('info');
  setLogDestination(undefined);
});

const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

it('writes JSON lines that name the request, its sequence and its worker', async () => {
  const res = await fetch(`http://${p.orch.http}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi', max_tokens: 3, temperature: 0, n: 2 }),
  });
  expect(res.status).toBe(200);
  const id = res.headers.get('x-request-id') as string;
  expect(id).toMatch(/^req-/);
  await new Promise((r) => setTimeout(r, 50));
  const mine = parsed().filter((l) => l.requestId === id);
  expect(mine.map((l) => l.msg).sort()).toEqual(['request admitted', 'request ended', 'sequence finished', 'sequence finished']);
  for (const l of mine.filter((x) => x.msg === 'sequence finished')) {
    expect(l).toMatchObject({ component: 'scheduler', workerId: 'worker-0', finishReason: 'length', outputTokens: 3 });
    expect(String(l.seqId)).toMatch(/\/[01]\/0$/); // <owner>.<n>:<internal request id>/<sample>/<incarnation>: unique even when a client reuses its id
  }
  expect(mine.find((l) => l.msg === 'request ended')).toMatchObject({ component: 'api', outcome: 'finished' });
  // No line mentions the request without naming it.
  for (const l of parsed()) if (JSON.stringify(l).includes(id)) expect(l.requestId ?? l.seqId).toBeDefined();
});

it('leaves no stack trace for user errors', async () => {
  const before = lines.length;
  const bad = await fetch(`http://${p.orch.http}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: '', max_tokens: 0 }) });
  expect(bad.status).toBe(400);
  const conn = connectGrpc(inference.InferenceDefinition, grpc.address);
  await expect(conn.client.complete({ prompt: 'x', sampling: { maxTokens: 100_000 } })).rejects.toThrow(/max_tokens/);
  conn.close();
  await new Promise((r) => setTimeout(r, 50));
  for (const l of lines.slice(before)) {
    expect(l).not.toMatch(/"stack"|\n\s+at /);
    JSON.parse(l);
  }
  expect(errorFields(invalidArgument('prompt', 'must not be empty'))).toEqual({ err: { code: 3, message: "field 'prompt': must not be empty" } });
  const internal = errorFields(new Error('disk on fire'));
  expect(internal.err).toMatchObject({ name: 'Error', message: 'disk on fire' });
  expect(String(internal.err.stack)).toContain('disk on fire');
});
