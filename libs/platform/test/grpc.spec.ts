/**
 * The same suite over a real gRPC server on 127.0.0.1 and over the in-process transport: both must
 * give callers the same results, the same status codes and the same deadline behaviour.
 */
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { HealthCheckResponse_ServingStatus } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health';
import { ServerReflectionService } from 'nice-grpc-server-reflection';
import { ServerReflectionRequest } from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb';
import { tokenizer } from '@llm/proto';
import {
  ClientError,
  Status,
  connectGrpc,
  createInProcessClient,
  invalidArgument,
  startGrpcServer,
  type RunningGrpcServer,
} from '@llm/platform';

/** A byte-level tokenizer service: ids are the UTF-8 bytes (enough to exercise every call shape). */
const byteTokenizer = {
  async encode(req: tokenizer.EncodeRequest) {
    if (req.tokenizer !== 'bytes') throw invalidArgument('tokenizer', `unknown tokenizer '${req.tokenizer}'`);
    return { tokenIds: Array.from(Buffer.from(req.text, 'utf8')) };
  },
  async decode(req: tokenizer.DecodeRequest, ctx: { signal: AbortSignal }) {
    if (req.tokenIds.length === 0) {
      // Never answers: used to check deadlines.
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    }
    return { text: Buffer.from(req.tokenIds).toString('utf8') };
  },
  async *decodeStream(reqs: AsyncIterable<tokenizer.DecodeStreamRequest>) {
    let consumed = 0;
    for await (const r of reqs) {
      consumed += r.tokenIds.length;
      yield { textDelta: Buffer.from(r.tokenIds).toString('latin1'), numTokensConsumed: consumed };
    }
  },
  async *train(req: tokenizer.TrainRequest) {
    for (let i = 1; i <= req.vocabSize; i++) yield { numMergesDone: i, numMergesTotal: req.vocabSize, done: i === req.vocabSize };
  },
};

type Tok = ReturnType<typeof connectGrpc<typeof tokenizer.TokenizerDefinition>>['client'];

async function* asStream<T>(items: T[]) {
  for (const i of items) yield i;
}

function suite(name: string, getClient: () => Tok) {
  describe(name, () => {
    it('answers a unary call with defaults filled', async () => {
      const res = await getClient().encode({ tokenizer: 'bytes', text: 'hé' });
      expect(res.tokenIds).toEqual([104, 195, 169]);
    });

    it('carries INVALID_ARGUMENT with the field and reason', async () => {
      const err = await getClient().encode({ tokenizer: 'nope', text: 'x' }).catch((e) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(err.details).toBe("field 'tokenizer': unknown tokenizer 'nope'");
    });

    it('ends a call that outlives its deadline with DEADLINE_EXCEEDED', async () => {
      const err = await getClient().decode({ tokenIds: [] }, { deadline: 150 }).catch((e) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect(err.code).toBe(Status.DEADLINE_EXCEEDED);
    });

    it('streams server-side and bidirectionally', async () => {
      const progress = [];
      for await (const p of getClient().train({ vocabSize: 3 })) progress.push(p.numMergesDone);
      expect(progress).toEqual([1, 2, 3]);
      const deltas = [];
      for await (const d of getClient().decodeStream(asStream([{ tokenIds: [65, 66] }, { tokenIds: [67] }]))) deltas.push(d);
      expect(deltas.map((d) => d.textDelta).join('')).toBe('ABC');
      expect(deltas[1].numTokensConsumed).toBe(3);
    });

    it('reports UNIMPLEMENTED for a method the service lacks', async () => {
      const err = await getClient().explain({ tokenizer: 'bytes', text: 'x' }).catch((e) => e);
      expect(err.code).toBe(Status.UNIMPLEMENTED);
    });
  });
}

describe('gRPC plumbing', () => {
  let server: RunningGrpcServer;
  let conn: ReturnType<typeof connectGrpc<typeof tokenizer.TokenizerDefinition>>;

  beforeAll(async () => {
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      services: [{ definition: tokenizer.TokenizerDefinition, implementation: byteTokenizer }],
    });
    conn = connectGrpc(tokenizer.TokenizerDefinition, server.address);
  });

  afterAll(async () => {
    conn.close();
    await server.close();
  });

  it('serves grpc.health.v1 for the server and the service', async () => {
    const channel = createChannel(server.address);
    const health = createClient(HealthDefinition, channel);
    expect((await health.check({ service: '' })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: 'llm.tokenizer.v1.Tokenizer' })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const err = await health.check({ service: 'no.such.Service' }).catch((e) => e);
    expect(err.code).toBe(Status.NOT_FOUND);
    channel.close();
  });

  it('lists its services through server reflection', async () => {
    const channel = createChannel(server.address);
    const reflection = createClient(ServerReflectionService, channel);
    const req = new ServerReflectionRequest();
    req.setListServices('*');
    const names: string[] = [];
    for await (const res of reflection.serverReflectionInfo(asStream([req]))) {
      for (const s of res.getListServicesResponse()?.getServiceList() ?? []) names.push(s.getName());
    }
    expect(names).toContain('llm.tokenizer.v1.Tokenizer');
    channel.close();
  });

  suite('over gRPC on 127.0.0.1', () => conn.client);
  suite('in process', () => createInProcessClient(tokenizer.TokenizerDefinition, byteTokenizer));

  it('fails with UNAVAILABLE, not a hang, when the peer is down', async () => {
    const dead = connectGrpc(tokenizer.TokenizerDefinition, '127.0.0.1:1', { deadlineMs: 2000 });
    const err = await dead.client.encode({ tokenizer: 'bytes', text: 'x' }).catch((e) => e);
    expect([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED]).toContain(err.code);
    dead.close();
  });
});
