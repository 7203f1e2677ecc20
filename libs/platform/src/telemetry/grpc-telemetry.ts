/**
 * gRPC middleware (nice-grpc) that every server and client of the platform carries: Prometheus
 * counts and latencies by method and status under go-grpc-prometheus's names, so the usual gRPC
 * dashboards work, and, when tracing is on, a SERVER / CLIENT span per call with W3C trace context
 * (traceparent, tracestate, baggage) in the call's metadata.
 *
 *   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
 *   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
 *   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}        (histogram)
 *   grpc_client_started_total / grpc_client_handled_total / grpc_client_handling_seconds  (same labels)
 *
 * Request ids: a request message with a `requestId` field (the Inference API's convention) gets one
 * when the caller sent none, and it goes back in the trailing metadata as `x-request-id` (and onto
 * the call's span). Client spans are made only inside a traced request (an active span), so
 * background calls (lease renewals, pool registration) add no root traces.
 * What it is not: the API key check (../security/grpc-auth.ts), which runs inside this middleware.
 */
import { Metadata, ServerError, Status, type CallContext, type CallOptions, type ClientMiddleware, type ClientMiddlewareCall, type ServerMiddleware, type ServerMiddlewareCall } from 'nice-grpc-common';
import type { Counter, Histogram } from 'prom-client';
import { counter, histogram } from '../metrics';
import { newRequestId, REQUEST_ID_HEADER } from './request-id';
import { bindAsyncIterable, contextOf, endSpan, extractTrace, hasActiveSpan, hasSpanContext, injectTrace, REQUEST_ID_KEY, SpanKind, startSpan } from './tracing';

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const LABELS = ['grpc_type', 'grpc_service', 'grpc_method'];
/** Probes and reflection are counted but never traced. */
const UNTRACED = /^\/grpc\.(health|reflection)\./;

type Side = 'server' | 'client';

interface MethodMetrics {
  started: ReturnType<Counter<string>['labels']>;
  seconds: ReturnType<Histogram<string>['labels']>;
  handled: Map<string, ReturnType<Counter<string>['labels']>>;
  labels: string[];
}

const families = (side: Side) => ({
  started: counter(`grpc_${side}_started_total`, `RPCs started on the ${side}.`, LABELS),
  handled: counter(`grpc_${side}_handled_total`, `RPCs completed on the ${side}, by status code.`, [...LABELS, 'grpc_code']),
  seconds: histogram(`grpc_${side}_handling_seconds`, `RPC latency on the ${side} until the last message or status (seconds).`, LABELS, SECONDS),
});

const cache: Record<Side, Map<string, MethodMetrics>> = { server: new Map(), client: new Map() };

function methodMetrics(side: Side, method: { path: string; requestStream: boolean; responseStream: boolean }): MethodMetrics {
  const hit = cache[side].get(method.path);
  if (hit) return hit;
  const f = families(side);
  const [, service = '', name = ''] = /^\/([^/]+)\/([^/]+)$/.exec(method.path) ?? [];
  const type = method.requestStream ? (method.responseStream ? 'bidi_stream' : 'client_stream') : method.responseStream ? 'server_stream' : 'unary';
  const labels = [type, service, name];
  const m: MethodMetrics = { started: f.started.labels(...labels), seconds: f.seconds.labels(...labels), handled: new Map(), labels };
  cache[side].set(method.path, m);
  return m;
}

function finish(side: Side, m: MethodMetrics, t0: bigint, code: Status): void {
  const name = Status[code] ?? String(code);
  let h = m.handled.get(name);
  if (!h) {
    h = families(side).handled.labels(...m.labels, name);
    m.handled.set(name, h);
  }
  h.inc();
  m.seconds.observe(Number(process.hrtime.bigint() - t0) / 1e9);
}

function codeOf(err: unknown): Status {
  if (err instanceof ServerError || typeof (err as { code?: unknown })?.code === 'number') return (err as { code: Status }).code;
  if ((err as { name?: string })?.name === 'AbortError') return Status.CANCELLED;
  return Status.UNKNOWN;
}

function carrierOf(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate', 'baggage']) {
    const v = metadata.get(key);
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}

/** Request ids echoed in trailers: printable ASCII, at most 256 characters (the services' own limit). */
const ECHOABLE_ID = /^[\x20-\x7e]{1,256}$/;

/** Fills in and reports the request id of a message that has a `requestId` field. */
function requestIdOf(request: unknown, context: CallContext): string | undefined {
  if (!request || typeof request !== 'object' || !('requestId' in request)) return undefined;
  const r = request as { requestId: unknown };
  if (typeof r.requestId !== 'string') return undefined;
  if (r.requestId === '') r.requestId = newRequestId();
  // An id that cannot travel as metadata (too long, not printable ASCII) is refused by the service's
  // checks; echoing it would make the trailers themselves fail, so it is neither echoed nor traced.
  if (!ECHOABLE_ID.test(r.requestId as string)) return undefined;
  context.trailer.set(REQUEST_ID_HEADER, r.requestId as string);
  return r.requestId as string;
}

export function serverTelemetry(): ServerMiddleware {
  return async function* telemetry<Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) {
    const m = methodMetrics('server', call.method);
    m.started.inc();
    const t0 = process.hrtime.bigint();
    const requestId = call.requestStream ? undefined : requestIdOf(call.request, context);
    // A span when the caller is traced, or for a call that admits a request (it may start a trace).
    const parent = extractTrace(carrierOf(context.metadata));
    const traced = !UNTRACED.test(call.method.path) && (requestId !== undefined || (parent !== undefined && hasSpanContext(parent)));
    const span = !traced
      ? undefined
      : startSpan(call.method.path.slice(1), {
          kind: SpanKind.SERVER,
          parent,
          attributes: { 'rpc.system': 'grpc', 'rpc.service': m.labels[1], 'rpc.method': m.labels[2], ...(requestId ? { [REQUEST_ID_KEY]: requestId } : {}) },
        });
    try {
      const inner = call.next(call.request as never, context) as AsyncGenerator<Res, Res | void, undefined>;
      const out = yield* bindAsyncIterable(contextOf(span, parent), inner);
      finish('server', m, t0, Status.OK);
      endSpan(span, undefined, { 'rpc.grpc.status_code': Status.OK });
      return out;
    } catch (err) {
      const code = codeOf(err);
      finish('server', m, t0, code);
      endSpan(span, err, { 'rpc.grpc.status_code': code });
      throw err;
    }
  } as ServerMiddleware;
}

export function clientTelemetry(): ClientMiddleware {
  return async function* telemetry<Req, Res>(call: ClientMiddlewareCall<Req, Res>, options: CallOptions) {
    const m = methodMetrics('client', call.method);
    m.started.inc();
    const t0 = process.hrtime.bigint();
    const span = hasActiveSpan() && !UNTRACED.test(call.method.path)
      ? startSpan(call.method.path.slice(1), { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc', 'rpc.service': m.labels[1], 'rpc.method': m.labels[2] } })
      : undefined;
    let next = options;
    if (span) {
      const carrier: Record<string, string> = {};
      injectTrace(carrier, contextOf(span));
      const metadata = Metadata(options.metadata);
      for (const [k, v] of Object.entries(carrier)) metadata.set(k, v);
      next = { ...options, metadata };
    }
    try {
      const out = yield* (call.next(call.request as never, next) as AsyncGenerator<Res, Res | void, undefined>);
      finish('client', m, t0, Status.OK);
      endSpan(span, undefined, { 'rpc.grpc.status_code': Status.OK });
      return out;
    } catch (err) {
      const code = codeOf(err);
      finish('client', m, t0, code);
      endSpan(span, err, { 'rpc.grpc.status_code': code });
      throw err;
    }
  } as ClientMiddleware;
}
