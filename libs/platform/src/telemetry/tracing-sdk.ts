/**
 * The OpenTelemetry SDK set-up behind ./tracing.ts, loaded only when tracing is on. Everything is
 * the standard environment's: OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (resource),
 * OTEL_TRACES_SAMPLER[_ARG] (sampler), OTEL_BSP_* (batching), OTEL_TRACES_EXPORTER (otlp | console,
 * comma-separated), OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL (http/protobuf by default, http/json,
 * grpc) and the exporters' own OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT / HEADERS / TIMEOUT /
 * COMPRESSION. Context: AsyncLocalStorage; propagation: W3C trace context + W3C baggage.
 *
 * What it is not: the helpers the apps call (./tracing.ts), which never import this file directly.
 */
import { context, propagation, trace, type Attributes, type Context, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { REQUEST_ID_KEY } from './tracing';

export interface StartedProvider {
  tracer: Tracer;
  serviceName: string;
  shutdown(): Promise<void>;
}

/** Copies the request id onto every span started under a span (or a remote context's baggage) that has one. */
class RequestIdSpanProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    if (span.attributes[REQUEST_ID_KEY] !== undefined) return;
    const parent = trace.getSpan(parentContext) as unknown as { attributes?: Attributes } | undefined;
    const id = parent?.attributes?.[REQUEST_ID_KEY] ?? propagation.getBaggage(parentContext)?.getEntry(REQUEST_ID_KEY)?.value;
    if (id !== undefined) span.setAttribute(REQUEST_ID_KEY, id);
  }
  onEnd(_span: ReadableSpan): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function otlpExporter(env: NodeJS.ProcessEnv): SpanExporter {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  switch (protocol) {
    case 'http/protobuf':
      return new OtlpProtoExporter();
    case 'http/json':
      return new OtlpJsonExporter();
    case 'grpc':
      return new OtlpGrpcExporter();
    default:
      throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL is '${protocol}': expected http/protobuf, http/json or grpc`);
  }
}

function exporters(env: NodeJS.ProcessEnv): SpanExporter[] {
  const names = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return names.map((name) => {
    if (name === 'otlp') return otlpExporter(env);
    if (name === 'console') return new ConsoleSpanExporter();
    throw new Error(`OTEL_TRACES_EXPORTER names '${name}': expected otlp, console or none`);
  });
}

export function startTracerProvider(serviceName: string, env: NodeJS.ProcessEnv): StartedProvider {
  const detected = detectResources({ detectors: [envDetector] }); // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
  const resource = resourceFromAttributes({ 'service.name': serviceName, 'service.instance.id': `${process.pid}` }).merge(detected);
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new RequestIdSpanProcessor(), ...exporters(env).map((e) => new BatchSpanProcessor(e))],
  });
  provider.register();
  const name = String(resource.attributes['service.name'] ?? serviceName);
  return {
    tracer: provider.getTracer('llm-platform'),
    serviceName: name,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
