/**
 * The HTTP counterpart of ./grpc-telemetry.ts for a node:http request listener (the orchestrator's
 * OpenAI-compatible port): every request is counted and timed under the names of
 * prometheus-fastapi-instrumentator (what vLLM's server exports),
 *
 *   http_requests_total{handler,method,status}          status: the exact code ("200", "429")
 *   http_request_duration_seconds{handler,method}       (histogram, until the response ends)
 *
 * gets a request id (response header `x-request-id`; `requestIdOf(req)` for the handler), and,
 * when tracing is on, a SERVER span (parent: an incoming `traceparent`) that is active while the
 * handler runs. `handler` is the route template the caller maps a path to, so the label stays
 * bounded (`/v1/models/{id}`, `other`).
 * What it is not: routing or the API key check (the handler's own).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { counter, histogram } from '../metrics';
import { newRequestId, REQUEST_ID_HEADER } from './request-id';
import { contextOf, endSpan, extractTrace, REQUEST_ID_KEY, runInContext, SpanKind, startSpan } from './tracing';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const REQUEST_ID = Symbol('llm.requestId');

export interface HttpTelemetryOptions {
  /** The route template of a path (bounded set; unknown paths -> 'other'). */
  route(method: string, path: string): string;
  /** Routes answered without a span or request id (probes, scrapes). */
  untraced?: readonly string[];
}

/** The request id the telemetry wrapper gave this request ('' for untraced routes). */
export function requestIdOf(req: IncomingMessage): string {
  return (req as unknown as Record<symbol, string>)[REQUEST_ID] ?? '';
}

export function observeHttp(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: HttpTelemetryOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const requests = counter('http_requests_total', 'HTTP requests answered, by route, method and status code.', ['handler', 'method', 'status']);
  const seconds = histogram('http_request_duration_seconds', 'HTTP request latency until the response ends (seconds).', ['handler', 'method'], SECONDS);
  const untraced = new Set(options.untraced ?? ['/health', '/metrics']);
  return (req, res) => {
    const t0 = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const route = options.route(method, (req.url ?? '/').split('?')[0]);
    let span: ReturnType<typeof startSpan>;
    let parent: ReturnType<typeof extractTrace>;
    if (!untraced.has(route)) {
      const id = newRequestId();
      (req as unknown as Record<symbol, string>)[REQUEST_ID] = id;
      res.setHeader(REQUEST_ID_HEADER, id);
      parent = extractTrace(req.headers as Record<string, string>);
      span = startSpan(`${method} ${route}`, {
        kind: SpanKind.SERVER,
        parent,
        attributes: { 'http.request.method': method, 'http.route': route, [REQUEST_ID_KEY]: id },
      });
    }
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      const status = res.headersSent || res.writableEnded ? res.statusCode : 499; // 499: the client left first
      requests.inc({ handler: route, method, status: String(status) });
      seconds.observe({ handler: route, method }, Number(process.hrtime.bigint() - t0) / 1e9);
      endSpan(span, status >= 500 ? new Error(`HTTP ${status}`) : undefined, { 'http.response.status_code': status });
    };
    res.once('finish', end);
    res.once('close', end);
    runInContext(contextOf(span, parent), () => handler(req, res));
  };
}
