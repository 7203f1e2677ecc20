/**
 * Metrics plumbing: the default process metrics under their standard names (no doubled prefix),
 * the event-loop lag minimum never the empty histogram's 2^63 ns, the /metrics server, and the
 * gRPC middleware's exact counts by method and status (server and client), latency histogram
 * counts, and request ids in the trailing metadata. Counts are read as deltas: the registry is the
 * process's and other tests in this file add to it.
 */
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { inference, tokenizer } from '@llm/proto';
import { buckets125, connectGrpc, invalidArgument, metricsRegistry, startGrpcServer, startMetricsServer, type RunningGrpcServer } from '@llm/platform';

async function value(name: string, labels: Record<string, string>): Promise<number> {
  const m = metricsRegistry().getSingleMetric(name);
  if (!m) return 0;
  const values = (await m.get()).values;
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return hit?.value ?? 0;
}

describe('process metrics', () => {
  it('uses the standard Node.js names, without a doubled prefix', async () => {
    const text = await metricsRegistry().metrics();
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text).not.toMatch(/process_process_/);
  });

  it('never reports the empty histogram as the event-loop lag minimum', async () => {
    // Two scrapes in a row: the second sees no new delay sample (10 ms resolution).
    await metricsRegistry().metrics();
    const text = await metricsRegistry().metrics();
    const min = /^nodejs_eventloop_lag_min_seconds (\S+)$/m.exec(text);
    expect(min).not.toBeNull();
    expect(Number(min?.[1])).toBeLessThan(10);
    await new Promise((r) => setTimeout(r, 50)); // samples land
    const after = /^nodejs_eventloop_lag_min_seconds (\S+)$/m.exec(await metricsRegistry().metrics());
    expect(Number(after?.[1])).toBeGreaterThan(0);
    expect(Number(after?.[1])).toBeLessThan(10);
  });

  it('buckets125 follows 1, 2, 5 decades up to the limit', () => {
    expect(buckets125(1000)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    expect(buckets125(4)).toEqual([1, 2]);
  });

  it('serves /metrics on its own port and 404 elsewhere; -1 starts nothing', async () => {
    expect(await startMetricsServer({ port: -1, name: 'test' })).toBeUndefined();
    const server = await startMetricsServer({ port: 0, name: 'test' });
    try {
      const res = await fetch(`http://${server?.address}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(await res.text()).toMatch(/^process_cpu_seconds_total /m);
      expect((await fetch(`http://${server?.address}/other`)).status).toBe(404);
    } finally {
      await server?.close();
    }
  });

  it('names the port when it is taken', async () => {
    const first = await startMetricsServer({ port: 0, name: 'kv-manager' });
    await expect(startMetricsServer({ port: first?.port as number, name: 'kv-manager' })).rejects.toThrow(
      `kv-manager: metrics port ${first?.port} on 127.0.0.1 is in use (pass another --metrics-port, or -1 for none)`,
    );
    await first?.close();
  });
});

describe('gRPC telemetry', () => {
  let server: RunningGrpcServer;
  const seen: string[] = [];

  beforeAll(async () => {
    server = await startGrpcServer({
      port: 0,
      services: [
        {
          definition: tokenizer.TokenizerDefinition,
          implementation: {
            encode: async () => ({ tokenIds: [1, 2] }),
            decode: async () => {
              throw invalidArgument('token_ids', 'not today');
            },
          },
        },
        {
          definition: inference.InferenceDefinition,
          implementation: {
            complete: async (req: inference.CompleteRequest) => {
              seen.push(req.requestId);
              return { requestId: req.requestId, model: 'm', choices: [], promptLogprobs: [] };
            },
            async *generate(req: inference.GenerateRequest) {
              seen.push(req.requestId);
              yield { index: 0, tokenIds: [1], text: 'a', logprobs: [], finishReason: 0, stopReason: '', tokenOffset: 0, requestId: req.requestId, promptLogprobs: [] };
              yield { index: 0, tokenIds: [2], text: 'b', logprobs: [], finishReason: 1, stopReason: '', tokenOffset: 1, requestId: req.requestId, promptLogprobs: [] };
            },
          },
        },
      ],
    });
  });
  afterAll(() => server.close(100));

  const tok = (method: string, type = 'unary') => ({ grpc_type: type, grpc_service: 'llm.tokenizer.v1.Tokenizer', grpc_method: method });

  it('counts started and handled calls by method and status code, on both sides, with their latencies', async () => {
    const before = {
      started: await value('grpc_server_started_total', tok('Encode')),
      ok: await value('grpc_server_handled_total', { ...tok('Encode'), grpc_code: 'OK' }),
      bad: await value('grpc_server_handled_total', { ...tok('Decode'), grpc_code: 'INVALID_ARGUMENT' }),
      clientOk: await value('grpc_client_handled_total', { ...tok('Encode'), grpc_code: 'OK' }),
      clientBad: await value('grpc_client_handled_total', { ...tok('Decode'), grpc_code: 'INVALID_ARGUMENT' }),
      seconds: await histCount('grpc_server_handling_seconds', tok('Encode')),
      clientSeconds: await histCount('grpc_client_handling_seconds', tok('Decode')),
    };
    const conn = connectGrpc(tokenizer.TokenizerDefinition, server.address);
    for (let i = 0; i < 3; i++) await conn.client.encode({ tokenizer: 'x', text: 'hi' });
    for (let i = 0; i < 2; i++) await expect(conn.client.decode({ tokenizer: 'x', tokenIds: [1] })).rejects.toThrow(/not today/);
    conn.close();
    expect(await value('grpc_server_started_total', tok('Encode'))).toBe(before.started + 3);
    expect(await value('grpc_server_handled_total', { ...tok('Encode'), grpc_code: 'OK' })).toBe(before.ok + 3);
    expect(await value('grpc_server_handled_total', { ...tok('Decode'), grpc_code: 'INVALID_ARGUMENT' })).toBe(before.bad + 2);
    expect(await value('grpc_client_handled_total', { ...tok('Encode'), grpc_code: 'OK' })).toBe(before.clientOk + 3);
    expect(await value('grpc_client_handled_total', { ...tok('Decode'), grpc_code: 'INVALID_ARGUMENT' })).toBe(before.clientBad + 2);
    expect(await histCount('grpc_server_handling_seconds', tok('Encode'))).toBe(before.seconds + 3);
    expect(await histCount('grpc_client_handling_seconds', tok('Decode'))).toBe(before.clientSeconds + 2);
    // A method the service lacks answers UNIMPLEMENTED and is counted as such.
    const unimplemented = { ...tok('Explain'), grpc_code: 'UNIMPLEMENTED' };
    const u0 = await value('grpc_server_handled_total', unimplemented);
    const c2 = connectGrpc(tokenizer.TokenizerDefinition, server.address);
    await expect(c2.client.explain({ tokenizer: 'x', text: 'a' })).rejects.toThrow(/not implemented/);
    c2.close();
    expect(await value('grpc_server_handled_total', unimplemented)).toBe(u0 + 1);
  });

  it('counts a server-streaming call once, as server_stream', async () => {
    const labels = { grpc_type: 'server_stream', grpc_service: 'llm.inference.v1.Inference', grpc_method: 'Generate', grpc_code: 'OK' };
    const before = await value('grpc_server_handled_total', labels);
    const conn = connectGrpc(inference.InferenceDefinition, server.address);
    const texts: string[] = [];
    for await (const d of conn.client.generate({ prompt: 'x' })) texts.push(d.text);
    conn.close();
    expect(texts).toEqual(['a', 'b']);
    expect(await value('grpc_server_handled_total', labels)).toBe(before + 1);
  });

  it('gives a request without an id one, returns it in the trailing metadata, and echoes a given id', async () => {
    const channel = createChannel(server.address);
    const client = createClient(inference.InferenceDefinition, channel);
    let trailer = '';
    const res = await client.complete({ prompt: 'x' }, { onTrailer: (t: Metadata) => (trailer = t.get('x-request-id') ?? '') });
    expect(trailer).toMatch(/^req-[0-9a-z]+-[0-9a-z]+-[0-9a-z]+$/);
    expect(res.requestId).toBe(trailer);
    expect(seen[seen.length - 1]).toBe(trailer);
    await client.complete({ prompt: 'x', requestId: 'mine-1' }, { onTrailer: (t: Metadata) => (trailer = t.get('x-request-id') ?? '') });
    expect(trailer).toBe('mine-1');
    let streamed = '';
    for await (const _ of client.generate({ prompt: 'x' }, { onTrailer: (t: Metadata) => (streamed = t.get('x-request-id') ?? '') })) void _;
    expect(streamed).toMatch(/^req-/);
    // Methods without a request id field get no trailer.
    let none: string | undefined = 'unset';
    await client.listModels({}, { onTrailer: (t: Metadata) => (none = t.get('x-request-id')) }).catch(() => undefined);
    expect(none).toBeUndefined();
    channel.close();
  });
});

async function histCount(name: string, labels: Record<string, string>): Promise<number> {
  const m = metricsRegistry().getSingleMetric(name);
  if (!m) return 0;
  const values = (await m.get()).values;
  const hit = values.find((v) => v.metricName === `${name}_count` && Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return hit?.value ?? 0;
}
