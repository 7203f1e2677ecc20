/**
 * OpenTelemetry tracing for the apps, off by default and free when off: until `startTracing`
 * finds tracing asked for in the standard OTEL_* environment, no SDK module is loaded, every
 * helper here returns at its first line, and no span object is ever created (the helpers never
 * call the API's no-op tracer either). When on, spans go through the global TracerProvider that
 * ./tracing-sdk.ts registers (AsyncLocalStorage context, W3C trace context + baggage).
 *
 * Tracing is on when OTEL_TRACES_EXPORTER names an exporter (otlp, console) or an OTLP endpoint is
 * set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT), unless
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
 *
 * The request id rides along: `llm.request_id` on the span that admits a request, copied onto every
 * span started under it (RequestIdSpanProcessor), and carried to other processes as W3C baggage.
 * What it is not: metrics (./grpc-metrics.ts and the apps' *.metrics.ts) or the internals trace of
 * a request (a different thing: the model's own data, returned to the client).
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

export { SpanKind, type Context, type Span };

/** The attribute and baggage key of the request id(s) a span works for (comma-separated when several). */
export const REQUEST_ID_KEY = 'llm.request_id';

export interface TracingHandle {
  serviceName: string;
  /** Exports what is buffered, then stops tracing (helpers go back to doing nothing). */
  shutdown(): Promise<void>;
}

let tracer: Tracer | undefined;

/** Whether the environment asks for tracing (see the file comment). */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  if (exporter !== '') return exporter !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

export function tracingEnabled(): boolean {
  return tracer !== undefined;
}

/**
 * Starts tracing for this process when the environment asks for it (service.name: OTEL_SERVICE_NAME,
 * else `serviceName`); otherwise does nothing and returns undefined. Calling it again returns undefined.
 */
export async function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<TracingHandle | undefined> {
  if (tracer || !tracingRequested(env)) return undefined;
  const { startTracerProvider } = await import('./tracing-sdk'); // the SDK loads only here
  const provider = startTracerProvider(serviceName, env);
  tracer = provider.tracer;
  return {
    serviceName: provider.serviceName,
    async shutdown() {
      tracer = undefined;
      await provider.shutdown();
    },
  };
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** Parent context (default: the active one). */
  parent?: Context;
}

/** A started span, or undefined when tracing is off. End it with endSpan. */
export function startSpan(name: string, options: SpanOptions = {}): Span | undefined {
  if (!tracer) return undefined;
  return tracer.startSpan(name, { kind: options.kind, attributes: options.attributes, links: options.links }, options.parent ?? context.active());
}

/** Ends a span, marking it failed with the error's message when one is given. */
export function endSpan(span: Span | undefined, err?: unknown, attributes?: Attributes): void {
  if (!span) return;
  if (attributes) span.setAttributes(attributes);
  if (err !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(err) });
  }
  span.end();
}

/** The context with `span` active (for parents and links), or undefined when there is no span. */
export function contextOf(span: Span | undefined, parent?: Context): Context | undefined {
  if (!span) return undefined;
  return trace.setSpan(parent ?? context.active(), span);
}

/** Whether a span (local or remote) is active: calls made now belong to a traced request. */
export function hasActiveSpan(): boolean {
  return tracer !== undefined && trace.getSpanContext(context.active()) !== undefined;
}

/** Whether a context (e.g. one extracted from a carrier) holds a span context. */
export function hasSpanContext(ctx: Context): boolean {
  return trace.getSpanContext(ctx) !== undefined;
}

/** Runs fn with `ctx` as the active context (fn alone when ctx is undefined). */
export function runInContext<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx ? context.with(ctx, fn) : fn();
}

/** Runs fn outside any request's context (long-lived loops started from inside a request). */
export function runDetached<T>(fn: () => T): T {
  return tracer ? context.with(ROOT_CONTEXT, fn) : fn();
}

/** The active context when tracing is on (to keep for later parenting), else undefined. */
export function activeContext(): Context | undefined {
  return tracer ? context.active() : undefined;
}

/**
 * Runs fn inside a span named `name`, a child of the active (or given) context; fn alone when tracing
 * is off or no traced request is active (work outside requests makes no root traces unless `root`).
 * The span ends when fn settles.
 */
export async function withSpan<T>(name: string, options: SpanOptions & { root?: boolean }, fn: () => Promise<T>): Promise<T> {
  const span = options.root || options.parent || hasActiveSpan() ? startSpan(name, options) : undefined;
  if (!span) return fn();
  try {
    const out = await context.with(trace.setSpan(options.parent ?? context.active(), span), fn);
    endSpan(span);
    return out;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

/** Sets the request id on the active span (the admitting span); later child spans copy it. */
export function annotateRequest(requestId: string): void {
  if (!tracer) return;
  trace.getActiveSpan()?.setAttribute(REQUEST_ID_KEY, requestId);
}

/** A context carrying request ids as baggage, so the processes it reaches tag their spans with them. */
export function withRequestIds(ctx: Context, requestIds: readonly string[]): Context {
  if (!tracer || requestIds.length === 0) return ctx;
  const baggage = (propagation.getBaggage(ctx) ?? propagation.createBaggage()).setEntry(REQUEST_ID_KEY, { value: requestIds.join(',') });
  return propagation.setBaggage(ctx, baggage);
}

/** Writes the active (or given) context's traceparent, tracestate and baggage into `carrier`. */
export function injectTrace(carrier: Record<string, string>, ctx?: Context): void {
  if (!tracer) return;
  propagation.inject(ctx ?? context.active(), carrier);
}

/** The context a carrier describes (traceparent/baggage), or undefined when tracing is off or it has none. */
export function extractTrace(carrier: Record<string, string | undefined> | undefined): Context | undefined {
  if (!tracer || !carrier) return undefined;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * An async iterable whose every step runs with `ctx` active, so a generator handler's awaits keep
 * the span of its call (AsyncLocalStorage follows whoever calls next(), not the generator).
 */
export function bindAsyncIterable<T, R>(ctx: Context | undefined, source: AsyncGenerator<T, R, undefined>): AsyncGenerator<T, R, undefined> {
  if (!ctx) return source;
  return {
    next: (...args: [] | [undefined]) => context.with(ctx, () => source.next(...args)),
    return: (value: R | PromiseLike<R>) => context.with(ctx, () => source.return(value)),
    throw: (err: unknown) => context.with(ctx, () => source.throw(err)),
    [Symbol.asyncIterator]() {
      return this;
    },
  } as unknown as AsyncGenerator<T, R, undefined>;
}

function errorText(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown };
  const text = typeof e?.details === 'string' ? e.details : typeof e?.message === 'string' ? e.message : String(err);
  return text.split('\n')[0].slice(0, 300);
}
