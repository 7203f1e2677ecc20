/**
 * startOtlpReceiver(): an in-memory OTLP/HTTP trace receiver on 127.0.0.1 for tests, the project's
 * and its users'. Point the platform's processes at it with `receiver.env()` (standard OTEL_*
 * variables: http/protobuf, a short batch delay), run requests, then read `receiver.spans` or wait
 * with `receiver.waitFor(...)`; `traces()` groups the spans by trace id.
 *
 *   const otlp = await startOtlpReceiver();
 *   spawn(app, { env: { ...process.env, ...otlp.env('kv-manager') } });
 *   await otlp.waitFor((spans) => spans.some((s) => s.name === 'llm.kv.v1.KvManager/AllocateSlots'));
 *
 * Accepts POST /v1/traces as application/x-protobuf or application/json (OTLP/JSON) and answers
 * 200 with an empty ExportTraceServiceResponse. What it is not: a collector (no metrics or logs,
 * no gRPC OTLP, nothing is forwarded).
 */
import { createServer, type Server } from 'node:http';
import { decodeOtlpTraces, decodeOtlpTracesJson, type OtlpSpan } from './otlp-decode';

export type { OtlpSpan, OtlpValue } from './otlp-decode';

export interface OtlpReceiver {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Every span received so far, in arrival order. */
  readonly spans: OtlpSpan[];
  /** Spans grouped by trace id. */
  traces(): Map<string, OtlpSpan[]>;
  /** Resolves with the spans once `predicate(spans)` holds (polls every 50 ms; rejects after timeoutMs). */
  waitFor(predicate: (spans: OtlpSpan[]) => boolean, timeoutMs?: number): Promise<OtlpSpan[]>;
  /** OTEL_* variables that send a process's spans here (service.name: `serviceName` when given). */
  env(serviceName?: string): Record<string, string>;
  /** Bodies that could not be decoded (a test may assert there were none). */
  readonly errors: string[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: OtlpSpan[] = [];
  const errors: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks);
      const json = (req.headers['content-type'] ?? '').includes('json');
      try {
        spans.push(...(json ? decodeOtlpTracesJson(body.toString('utf8')) : decodeOtlpTraces(body)));
        res.writeHead(200, { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' });
        res.end(json ? '{}' : Buffer.alloc(0));
      } catch (err) {
        errors.push((err as Error).message);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const endpoint = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    endpoint,
    spans,
    errors,
    traces() {
      const out = new Map<string, OtlpSpan[]>();
      for (const s of spans) out.set(s.traceId, [...(out.get(s.traceId) ?? []), s]);
      return out;
    },
    async waitFor(predicate, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > until) throw new Error(`startOtlpReceiver: the awaited spans did not arrive within ${timeoutMs} ms (${spans.length} spans received)`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return spans;
    },
    env(serviceName) {
      return {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        ...(serviceName ? { OTEL_SERVICE_NAME: serviceName } : {}),
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
