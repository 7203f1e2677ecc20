/**
 * Observability plumbing: tracing (OpenTelemetry, off unless OTEL_* asks), gRPC and HTTP
 * telemetry (metrics + spans + request ids), BullMQ metrics, the /metrics server, and what a main
 * calls to start them. Metric definitions of each service live in its app (*.metrics.ts).
 */
export * from './tracing';
export * from './grpc-telemetry';
export * from './http-telemetry';
export * from './queue-telemetry';
export * from './metrics-server';
export * from './request-id';
export * from './startup';
export * from './tokenizer-telemetry';
