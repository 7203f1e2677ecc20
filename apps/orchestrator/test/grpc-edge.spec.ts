/*
 * The public gRPC API against bad and hostile input (issue 16's observed defect 7), over the real
 * transport: malformed protobuf bytes are INVALID_ARGUMENT (not INTERNAL), a uint64 seed at or
 * above 2^53 is served (not "Error deserializing request"), a 100,000-character model name is a
 * prompt INVALID_ARGUMENT and the connection keeps working, floats beyond float32 are refused
 * naming the field, and huge metadata is refused without wedging anything.
 */
import * as grpc from '@grpc/grpc-js';
import { connectGrpc, startGrpcServer, Metadata, type RunningGrpcServer } from '@llm/platform';
import { inference } from '@llm/proto';
import { expectPoolWhole, startTestPlatform, type TestPlatform } from './support/platform';

let p: TestPlatform;
let server: RunningGrpcServer;
let conn: ReturnType<typeof connectGrpc<typeof inference.InferenceDefinition>>;

beforeAll(async () => {
  p = await startTestPlatform({ numBlocks: 96, blockSize: 4 });
  server = await startGrpcServer({ port: 0, services: [{ definition: inference.InferenceDefinition, implementation: p.orch.inference }] });
  conn = connectGrpc(inference.InferenceDefinition, server.address);
});
afterAll(async () => {
  conn.close();
  await server.close(100);
  await p.close();
});
afterEach(async () => {
  await new Promise((r) => setTimeout(r, 40));
  expectPoolWhole(p.pools);
});

/** A unary call with raw request bytes (no encoding), answering the status code and details. */
function rawCall(method: string, bytes: Buffer): Promise<{ code: number; details: string }> {
  const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(`/llm.inference.v1.Inference/${method}`, (b: Buffer) => b, (b: Buffer) => b, bytes, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve({ code: err?.code ?? 0, details: err?.details ?? '' });
    });
  });
}

const greedy = (over: Partial<inference.SamplingParams> = {}) => ({ temperature: 0, maxTokens: 4, ignoreEos: true, ...over });

it('malformed protobuf bytes are INVALID_ARGUMENT naming the message', async () => {
  for (const bytes of [Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x64, 0x61]), Buffer.from([0x22, 0x05, 0x08])]) {
    const r = await rawCall('Complete', bytes);
    expect(r.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.details).toMatch(/not a valid llm\.inference\.v1\.Inference\./);
  }
  expect((await conn.client.listModels({})).models).toHaveLength(1); // the server is fine
});

it('a uint64 seed at or above 2^53 is served over the wire, reproducibly', async () => {
  for (const seed of ['9007199254740992', '18446744073709551615']) {
    const req = { prompt: 'hello', sampling: { temperature: 1, maxTokens: 6, ignoreEos: true, seed } };
    const a = await conn.client.complete(req);
    const b = await conn.client.complete(req);
    expect(a.choices[0].tokenIds).toHaveLength(6);
    expect(a.choices[0].tokenIds).toEqual(b.choices[0].tokenIds);
  }
});

it('a 100,000-character model name is INVALID_ARGUMENT at once, and the connection still serves', async () => {
  const t0 = Date.now();
  await expect(conn.client.complete({ model: 'm'.repeat(100_000), prompt: 'hi', sampling: greedy() }, { deadline: 5000 })).rejects.toMatchObject({
    code: grpc.status.INVALID_ARGUMENT,
    details: expect.stringMatching(/field 'model': must be at most 256 characters, got 100000/),
  });
  expect(Date.now() - t0).toBeLessThan(2000);
  // Not-served names are echoed clipped, too.
  await expect(conn.client.complete({ model: 'x'.repeat(200), prompt: 'hi', sampling: greedy() })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  const ok = await conn.client.complete({ prompt: 'hi', sampling: greedy() }, { deadline: 5000 });
  expect(ok.choices[0].tokenIds).toHaveLength(4);
});

it('long strings in any checked field are refused with short details', async () => {
  for (const req of [
    { prompt: 'hi', requestId: 'r'.repeat(100_000) },
    { prompt: 'hi', cacheSalt: 's'.repeat(100_000) },
    { prompt: 'hi', sampling: { ...greedy(), stop: ['s'.repeat(100_000)] } },
  ]) {
    const err = await conn.client.complete(req, { deadline: 5000 }).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details.length).toBeLessThan(300);
  }
});

it('floats beyond the float32 range are refused naming the field, in Generate as in Complete', async () => {
  // A JavaScript client cannot even encode 1e308 as a float; on the wire the overflowed value is Infinity.
  const good = Buffer.from(inference.CompleteRequest.encode({ ...inference.CompleteRequest.fromPartial({ prompt: 'hi' }), sampling: inference.SamplingParams.fromPartial(greedy({ temperature: 1.5 })) }).finish());
  const at = good.indexOf(Buffer.from([0x00, 0x00, 0xc0, 0x3f])); // 1.5f little-endian
  expect(at).toBeGreaterThan(0);
  for (const bits of [[0x00, 0x00, 0x80, 0x7f], [0x00, 0x00, 0xc0, 0x7f]]) {
    const bad = Buffer.from(good);
    Buffer.from(bits).copy(bad, at); // +Infinity, NaN
    const r = await rawCall('Complete', bad);
    expect(r.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.details).toMatch(/field 'sampling.temperature': must be (a finite number <= 3.4e38|a number)/);
  }
  // In process (embedded callers hand over plain objects) the double itself is checked.
  await expect(p.orch.inference.complete(inference.CompleteRequest.fromPartial({ prompt: 'hi', sampling: greedy({ temperature: 1e308 }) }))).rejects.toMatchObject({
    code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/sampling.temperature': must be a finite number <= 3.4e38/),
  });
  const stream = (async () => {
    for await (const _ of p.orch.inference.generate(inference.GenerateRequest.fromPartial({ prompt: 'hi', sampling: greedy({ presencePenalty: -1e39 }) }))) void _;
  })();
  await expect(stream).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/presence_penalty/) });
});

it('huge metadata is refused and the server keeps serving', async () => {
  const md = Metadata({ 'x-big': 'b'.repeat(100_000) });
  const err = await conn.client.complete({ prompt: 'hi', sampling: greedy() }, { metadata: md, deadline: 5000 }).catch((e) => e);
  expect(err.code).not.toBe(grpc.status.DEADLINE_EXCEEDED);
  const fresh = connectGrpc(inference.InferenceDefinition, server.address);
  try {
    expect((await fresh.client.complete({ prompt: 'hi', sampling: greedy() }, { deadline: 5000 })).choices[0].tokenIds).toHaveLength(4);
  } finally {
    fresh.close();
  }
});
