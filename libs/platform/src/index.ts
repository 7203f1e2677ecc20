/**
 * Service plumbing shared by the apps: configuration, gRPC servers (health + reflection) and clients
 * with deadlines, the in-process transport, the NestJS gRPC host, BullMQ queues, logging, metrics,
 * tracing and telemetry (./telemetry), and security (API keys, tenants, TLS). Not for the pure libraries (tensor, model, tokenizer, kv,
 * moe, training), which never import it. `@llm/platform/config` is the light entry for settings.
 */
export * from './config';
export * from './grpc/options';
export * from './grpc/errors';
export * from './grpc/server';
export * from './grpc/port-holder';
export * from './grpc/port-reservation';
export * from './grpc/port-report';
export * from './grpc/reflection';
export * from './grpc/client';
export * from './grpc/in-process';
export * from './grpc/host';
export * from './queue';
export * from './logging';
export * from './metrics';
export * from './health';
export * from './redis-state';
export * from './process';
export * from './telemetry';
export * from './security';
export { ClientError, Metadata, type CallContext, type Client, type ServiceImplementation } from 'nice-grpc';
