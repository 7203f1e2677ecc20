/**
 * gRPC limits chosen on purpose, shared by servers and clients.
 *
 * - Messages: tensors cross the wire as raw bytes; one MoE dispatch of 8192 tokens x 4096 f32 is
 *   128 MiB, so the default 4 MiB receive limit would break real batches. 256 MiB leaves headroom
 *   while still bounding what a misbehaving peer can make us buffer.
 * - Deadlines: every client call has one (per-step calls are short; streams get a long default
 *   that callers override). A peer that is down fails with UNAVAILABLE / DEADLINE_EXCEEDED, never a hang.
 * - Keepalive: pings every 30 s so half-open connections (a killed container) are noticed.
 */
import type { ChannelOptions } from '@grpc/grpc-js';

export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
/** Default deadline of a unary call (ms). */
export const DEFAULT_UNARY_DEADLINE_MS = 30_000;
/** Default deadline of a streaming call (ms). */
export const DEFAULT_STREAM_DEADLINE_MS = 30 * 60_000;

export function channelOptions(maxMessageBytes = MAX_MESSAGE_BYTES): ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  };
}

export function serverOptions(maxMessageBytes = MAX_MESSAGE_BYTES): ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
  };
}
