/**
 * gRPC client factory: a nice-grpc client over a @grpc/grpc-js channel with the deadline
 * middleware, so every call has a deadline (DEFAULT_UNARY_DEADLINE_MS unless the caller passes
 * `deadline`), plus the message limits and keepalive of ./options, and TLS/mTLS when given
 * channel credentials (TlsFiles.channelCredentials). Every call is counted and, inside a traced
 * request, traced (../telemetry/grpc-telemetry.ts).
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import { createChannel, createClientFactory, type Channel, type Client, type CompatServiceDefinition } from 'nice-grpc';
import { deadlineMiddleware } from 'nice-grpc-client-middleware-deadline';
import { clientTelemetry } from '../telemetry/grpc-telemetry';
import { channelOptions, DEFAULT_STREAM_DEADLINE_MS, DEFAULT_UNARY_DEADLINE_MS } from './options';

export interface GrpcClientOptions {
  /** Default deadline of each call in ms (callers may pass their own `deadline`). */
  deadlineMs?: number;
  maxMessageBytes?: number;
  /** TLS (and client certificate) credentials; default plaintext. */
  credentials?: ChannelCredentials;
}

export interface GrpcConnection<D extends CompatServiceDefinition> {
  client: Client<D, { deadline?: Date | number }>;
  channel: Channel;
  close(): void;
}

/** Connects to `address` (host:port). The channel connects lazily; calls fail with UNAVAILABLE if the peer is down. */
export function connectGrpc<D extends CompatServiceDefinition>(
  definition: D,
  address: string,
  options: GrpcClientOptions = {},
): GrpcConnection<D> {
  const channel = createChannel(address, options.credentials, channelOptions(options.maxMessageBytes));
  const client = createClientFactory()
    .use(clientTelemetry())
    .use(deadlineMiddleware)
    .create(definition, channel, defaultDeadlines(definition, options.deadlineMs)) as Client<
    D,
    { deadline?: Date | number }
  >;
  return { client, channel, close: () => channel.close() };
}

/** Unary methods get the unary deadline; streaming ones the (long) stream deadline. */
function defaultDeadlines(definition: CompatServiceDefinition, unaryMs?: number): Record<string, { deadline: number }> {
  const out: Record<string, { deadline: number }> = { '*': { deadline: unaryMs ?? DEFAULT_UNARY_DEADLINE_MS } };
  const methods = (definition as { methods?: Record<string, { requestStream: boolean; responseStream: boolean }> }).methods;
  for (const [name, m] of Object.entries(methods ?? {})) {
    if (m.requestStream || m.responseStream) out[name] = { deadline: DEFAULT_STREAM_DEADLINE_MS };
  }
  return out;
}
