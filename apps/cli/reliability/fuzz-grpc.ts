/**
 * gRPC fuzzing: GenerateRequest and CompleteRequest messages generated with fast-check from the
 * proto descriptors (libs/proto's FileDescriptorSet read with @bufbuild/protobuf: one arbitrary per
 * field by its scalar type, with every type's edges, including float Infinity and NaN, which a
 * float can carry on the wire), encoded and sent as raw bytes; plus malformed bytes and reused
 * request ids whose answers must still be each request's own. Good requests with known answers
 * are mixed into every batch. Judged: no INTERNAL / UNKNOWN / transport failure, no process
 * restarted, good answers unchanged.
 *
 * What it is not: a protobuf conformance suite.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { create, createFileRegistry, fromBinary, ScalarType, toBinary, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import fc from 'fast-check';
import { Status } from '@llm/platform';
import { DESCRIPTOR_SET_PATH } from '@llm/proto';
import { grpcUnary, pool, type Outcome } from './clients';
import { extremeNumbers, hugeString, oddString } from './fuzz-values';
import { MAX_TOKENS, tally, type Reference } from './load';
import type { UnderTest } from './platform';
import { settledRss } from './measure';
import { emptyRow, type Row } from './table';

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_SET_PATH)));

function scalarArb(t: ScalarType, name: string): fc.Arbitrary<unknown> {
  switch (t) {
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return fc.oneof({ weight: 6, arbitrary: fc.float({ min: -3, max: 3, noNaN: true }) }, { weight: 2, arbitrary: fc.float() }, { weight: 1, arbitrary: fc.constantFrom(Infinity, -Infinity, NaN, 3.4028234663852886e38) });
    case ScalarType.INT32:
      return fc.oneof(fc.integer({ min: -2, max: 100 }), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1));
    case ScalarType.UINT32:
      return name === 'max_tokens' ? fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 2 ** 32 - 1, 300) }) : fc.oneof(fc.integer({ min: 0, max: 500 }), fc.constantFrom(0, 2 ** 32 - 1, 2 ** 31));
    case ScalarType.UINT64:
    case ScalarType.INT64:
      return fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n));
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.STRING:
      return name === 'model' ? fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 2, arbitrary: oddString }, { weight: 1, arbitrary: hugeString }) : fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 30 }) }, { weight: 2, arbitrary: oddString }, { weight: 1, arbitrary: hugeString });
    default:
      return extremeNumbers;
  }
}

function fieldArb(f: DescField): fc.Arbitrary<unknown> {
  switch (f.fieldKind) {
    case 'scalar':
      return scalarArb(f.scalar, f.name);
    case 'list':
      return f.listKind === 'scalar' ? fc.array(scalarArb(f.scalar, f.name), { maxLength: f.name === 'prompt_token_ids' ? 12 : 70 }) : fc.constant([]);
    case 'map':
      return fc.dictionary(fc.nat(600).map(String), f.mapKind === 'scalar' ? scalarArb(f.scalar, f.name) : fc.constant(undefined), { maxKeys: 4 });
    case 'message':
      return messageArb(f.message);
    default:
      return fc.constant(undefined);
  }
}

/** A message of `desc` with each field set or left out. */
function messageArb(desc: DescMessage): fc.Arbitrary<Record<string, unknown>> {
  const entries = desc.fields.map((f) => fc.option(fieldArb(f), { freq: f.name === 'prompt_token_ids' ? 8 : 2, nil: undefined }).map((v) => [f.localName, v] as const));
  return fc.tuple(...entries).map((kv) => Object.fromEntries(kv.filter(([, v]) => v !== undefined)));
}

/** Sends raw request bytes to a method (Complete is unary, Generate server-streaming); resolves with the status code. */
function rawCall(address: string, method: 'Complete' | 'Generate', bytes: Uint8Array, deadlineMs: number): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const path = `/llm.inference.v1.Inference/${method}`;
  const id = (b: Buffer) => b;
  const options = { deadline: Date.now() + deadlineMs };
  return new Promise((resolve) => {
    const done = (code: number) => {
      client.close();
      resolve(code);
    };
    if (method === 'Complete') {
      client.makeUnaryRequest(path, id, id, Buffer.from(bytes), options, (err) => done(err?.code ?? 0));
      return;
    }
    const call = client.makeServerStreamRequest(path, id, id, Buffer.from(bytes), options);
    call.on('data', () => undefined);
    call.on('error', () => undefined);
    call.on('status', (s: grpc.StatusObject) => done(s.code));
  });
}

export async function fuzzGrpc(u: UnderTest, refs: Reference[], n: number, seed: number): Promise<Row> {
  const row = emptyRow(`fuzz/grpc ${n} generated + malformed + reused ids, good requests mixed in`);
  row.kvBefore = await u.kvIdle();
  row.rssBefore = u.rss();
  const restarts = { ...u.platform.supervisor.restarts };
  const desc = registry.getMessage('llm.inference.v1.CompleteRequest')!;
  const messages = fc.sample(messageArb(desc), { numRuns: n, seed });
  const codes: Record<string, number> = {};
  const count = (code: number) => (codes[Status[code] ?? code] = (codes[Status[code] ?? code] ?? 0) + 1);
  const goodOutcomes: Outcome[] = [];
  const conn = u.connect();
  await pool(messages.length, 32, async (i) => {
    if (i % 8 === 0) {
      const r = refs[(i / 8) % refs.length];
      goodOutcomes.push(await grpcUnary(conn, { prompt: r.prompt, maxTokens: MAX_TOKENS, deadlineMs: 60_000, expected: r.tokens }));
    }
    let bytes: Uint8Array;
    try {
      bytes = toBinary(desc, create(desc, messages[i] as never));
    } catch {
      bytes = Buffer.from(JSON.stringify(messages[i]).slice(0, 64)); // not encodable: send junk instead
    }
    count(await rawCall(u.grpc, i % 2 ? 'Complete' : 'Generate', bytes, 60_000));
  });
  // Malformed bytes, and reused ids whose answers must stay each request's own.
  for (const junk of [[0xff, 0xff, 0xff], [0x0a, 0x64], [0x22, 0x05, 0x08], [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]) count(await rawCall(u.grpc, 'Complete', Uint8Array.from(junk), 10_000));
  const reused = await Promise.all(refs.slice(0, 8).map((r) => conn.client.complete({ requestId: 'the-same-id', promptTokenIds: r.prompt, sampling: { temperature: 0, maxTokens: MAX_TOKENS, ignoreEos: true } }, { deadline: 60_000 }).then(
    (res): Outcome => ({ kind: res.choices[0].tokenIds.join(',') === r.tokens.join(',') ? 'ok' : 'wrong', tokens: res.choices[0].tokenIds, text: '' }),
    (): Outcome => ({ kind: 'explicit', code: 'reused id', tokens: [], text: '' }),
  )));
  conn.close();
  const bad = (codes.INTERNAL ?? 0) + (codes.UNKNOWN ?? 0) + (codes.UNAVAILABLE ?? 0) + (codes.DEADLINE_EXCEEDED ?? 0);
  tally(row, [...goodOutcomes, ...reused]);
  const total = messages.length + 4;
  row.sent += total;
  row.ok += total - bad;
  row.explicit += bad;
  if (bad) row.errors.server = bad;
  row.kvAfter = await u.kvIdle();
  const rss = await settledRss(() => u.rss());
  row.rssAfter = rss.settled;
  row.notes.push(`RSS right after the run ${Object.entries(rss.immediate).map(([k, v]) => `${k} ${v}`).join(', ')} MB; the table's is the lowest in the 8 s after`);
  const crashed = Object.keys(u.platform.supervisor.restarts).filter((k) => u.platform.supervisor.restarts[k] !== restarts[k]);
  row.notes.push(`status codes ${JSON.stringify(codes)}; reused ids answered correctly ${reused.filter((o) => o.kind === 'ok').length}/${reused.length}; processes restarted: ${crashed.length ? crashed.join(', ') : 'none'}`);
  return row;
}
