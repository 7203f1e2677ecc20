/**
 * Helpers for integration tests, the project's and its users': a Redis (container or process),
 * gRPC servers on loopback, free ports, Docker detection, and the whole platform in containers
 * (startPlatform), and an in-memory OTLP trace receiver (startOtlpReceiver).
 */
export * from './docker';
export * from './ports';
export * from './redis';
export * from './grpc';
export * from './platform';
export * from './certificates';
export * from './otlp-receiver';
