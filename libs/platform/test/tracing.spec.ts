/**
 * Tracing: off unless the OTEL_* environment asks (and then the SDK is never loaded and no span is
 * made), and on: a request span, the gRPC client span, the server span in the callee (its parent
 * from the traceparent in the call's metadata) and a span inside the handler form one correctly
 * parented trace, exported over OTLP/HTTP (JSON here; the protobuf path is libs/testing's
 * receiver test), with the request ids carried as baggage onto the callee's spans.
 */
import { createServer, type Server } from 'node:http';
import { tokenizer } from '@llm/proto';

describe('tracing off', () => {
  it('is asked for only by an exporter or an OTLP endpoint, and never by default', () => {
    jest.isolateModules(() => {
      const { tracingRequested } = require('../src/telemetry/tracing') as typeof import('../src/telemetry/tracing');
      expect(tracingRequested({})).toBe(false);
      expect(tracingRequested({ OTEL_SERVICE_NAME: 'x' })).toBe(false);
      expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
      expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(false);
      expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(true);
      expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://x' })).toBe(true);
      expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    });
  });

  it('loads no SDK and creates no span', async () => {
    jest.resetModules();
    jest.doMock('@opentelemetry/sdk-trace-node', () => {
      throw new Error('the tracing SDK was loaded');
    });
    const t = require('../src/telemetry/tracing') as typeof import('../src/telemetry/tracing');
    expect(await t.startTracing('svc', {})).toBeUndefined();
    expect(t.tracingEnabled()).toBe(false);
    expect(t.startSpan('x')).toBeUndefined();
    expect(t.activeContext()).toBeUndefined();
    expect(t.hasActiveSpan()).toBe(false);
    const carrier: Record<string, string> = {};
    t.injectTrace(carrier);
    expect(carrier).toEqual({});
    expect(await t.withSpan('y', {}, async () => 7)).toBe(7);
    // The mock is live: asking for tracing now would load it.
    await expect(t.startTracing('svc', { OTEL_TRACES_EXPORTER: 'console' })).rejects.toThrow('the tracing SDK was loaded');
    jest.dontMock('@opentelemetry/sdk-trace-node');
  });
});

interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string } }[];
}

describe('tracing on', () => {
  let receiver: Server;
  const spans: JsonSpan[] = [];
  const services: string[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const parsed = JSON.parse(body) as { resourceSpans: { resource: { attributes: JsonSpan['attributes'] }; scopeSpans: { spans: JsonSpan[] }[] }[] };
        for (const rs of parsed.resourceSpans) {
          services.push(rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '');
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

  it('parents the callee server span on the caller client span and carries the request ids', async () => {
    jest.resetModules();
    const port = (receiver.address() as { port: number }).port;
    Object.assign(process.env, {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${port}/v1/traces`,
    });
    const platform = require('../src') as typeof import('../src'); // a fresh copy: tracing state is per module

    const handle = await platform.startTracing('tracing-spec');
    expect(handle?.serviceName).toBe('tracing-spec');
    const server = await platform.startGrpcServer({
      port: 0,
      services: [
        {
          definition: tokenizer.TokenizerDefinition,
          implementation: { encode: () => platform.withSpan('inner', {}, async () => ({ tokenIds: [1] })) },
        },
      ],
    });
    const conn = platform.connectGrpc(tokenizer.TokenizerDefinition, server.address);
    // A background call outside any request makes no client span and the server no root span.
    await conn.client.encode({ tokenizer: 't', text: 'background' });
    const root = platform.startSpan('request');
    const ctx = platform.withRequestIds(platform.contextOf(root) as import('../src').Context, ['req-a', 'req-b']);
    await platform.runInContext(ctx, () => conn.client.encode({ tokenizer: 't', text: 'x' }));
    platform.endSpan(root);
    conn.close();
    await server.close(100);
    await handle?.shutdown();
    for (const k of ['OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) delete process.env[k];

    expect(services.every((s) => s === 'tracing-spec')).toBe(true);
    const byName = new Map(spans.map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual(['inner', 'llm.tokenizer.v1.Tokenizer/Encode', 'request']);
    const [request, inner] = [byName.get('request') as JsonSpan, byName.get('inner') as JsonSpan];
    const client = spans.find((s) => s.kind === 3) as JsonSpan; // CLIENT
    const serverSpan = spans.find((s) => s.kind === 2) as JsonSpan; // SERVER
    expect(spans).toHaveLength(4);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(request.parentSpanId ?? '').toBe('');
    expect(client.parentSpanId).toBe(request.spanId);
    expect(serverSpan.parentSpanId).toBe(client.spanId);
    expect(inner.parentSpanId).toBe(serverSpan.spanId);
    const rid = (s: JsonSpan) => s.attributes.find((a) => a.key === 'llm.request_id')?.value.stringValue;
    expect(rid(serverSpan)).toBe('req-a,req-b');
    expect(rid(inner)).toBe('req-a,req-b');
  });
});
