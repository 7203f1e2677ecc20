/**
 * Request ids: one per admitted request, in the response (HTTP `x-request-id` header, gRPC trailing
 * metadata `x-request-id`), in every log line and span of the request. The same shape as the
 * orchestrator's own ids: `req-<time>-<counter>-<random>`, unique across processes.
 * What it is not: a tracing id (trace ids are W3C trace context's, ./tracing.ts).
 */
let counter = 0;

export function newRequestId(): string {
  return `req-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
}

/** The response header and gRPC trailing-metadata key of the request id. */
export const REQUEST_ID_HEADER = 'x-request-id';
