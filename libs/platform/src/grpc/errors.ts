/**
 * Service errors with gRPC status codes. Handlers throw these; over gRPC the client sees the code
 * and the message, and the in-process transport reproduces exactly that.
 */
import { ServerError, Status } from 'nice-grpc-common';

export { ServerError, Status };

/** INVALID_ARGUMENT naming the field and the reason: `field 'max_tokens': must be >= 1, got 0`. */
export function invalidArgument(field: string, reason: string): ServerError {
  return new ServerError(Status.INVALID_ARGUMENT, `field '${field}': ${reason}`);
}

export function failedPrecondition(message: string): ServerError {
  return new ServerError(Status.FAILED_PRECONDITION, message);
}

export function notFound(message: string): ServerError {
  return new ServerError(Status.NOT_FOUND, message);
}

export function resourceExhausted(message: string): ServerError {
  return new ServerError(Status.RESOURCE_EXHAUSTED, message);
}

export function unavailable(message: string): ServerError {
  return new ServerError(Status.UNAVAILABLE, message);
}

/**
 * Maps an error that carries a `code` string (the pure libs' typed errors use status names such as
 * 'INVALID_ARGUMENT') to a ServerError; anything else becomes INTERNAL with its message.
 */
export function toServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.code === 'string' && e.code in Status) {
    return new ServerError(Status[e.code as keyof typeof Status] as Status, message);
  }
  return new ServerError(Status.INTERNAL, message);
}
