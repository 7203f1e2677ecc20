/**
 * Helpers for integration tests, the project's and its users': a Redis (container or process),
 * gRPC servers on loopback, free ports, HTTP readiness polling, Docker detection, and the whole platform in containers
 * (startPlatform), an in-memory OTLP trace receiver (startOtlpReceiver), and Prometheus: a real
 * server against targets, promtool checks and a /metrics parser (startPrometheus).
 */
export * from './docker';
export * from './ports';
export * from './http-ready';
export * from './redis';
export * from './grpc';
export * from './platform';
export * from './certificates';
export * from './otlp-receiver';
export * from './prometheus';
