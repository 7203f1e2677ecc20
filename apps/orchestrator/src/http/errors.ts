/*
 * OpenAI-shaped HTTP errors: `{"error": {"message", "type", "param", "code"}}` with a 4xx/5xx
 * status, from our gRPC status codes (INVALID_ARGUMENT -> 400, NOT_FOUND -> 404,
 * RESOURCE_EXHAUSTED -> 429, UNAVAILABLE -> 503, CANCELLED -> 499, anything else -> 500).
 * Reference: OpenAI API error object. What it is not: logging.
 */
import { Status } from '@llm/platform';
import { ServerError } from 'nice-grpc-common';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

const STATUS_HTTP: Partial<Record<Status, [number, string]>> = {
  [Status.INVALID_ARGUMENT]: [400, 'invalid_request_error'],
  [Status.NOT_FOUND]: [404, 'invalid_request_error'],
  [Status.RESOURCE_EXHAUSTED]: [429, 'rate_limit_error'],
  [Status.UNAVAILABLE]: [503, 'server_error'],
  [Status.CANCELLED]: [499, 'invalid_request_error'],
  [Status.DEADLINE_EXCEEDED]: [504, 'server_error'],
  [Status.FAILED_PRECONDITION]: [400, 'invalid_request_error'],
};

/** Maps any error to an HttpError; `field 'sampling.x': ...` messages name `x` as the param. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ServerError) {
    const [status, type] = STATUS_HTTP[err.code] ?? [500, 'server_error'];
    const m = /^field '([^']+)'/.exec(err.details);
    const param = m ? m[1].replace(/^sampling\./, '') : null;
    const code = err.code === Status.NOT_FOUND && param === 'model' ? 'model_not_found' : null;
    return new HttpError(status, err.details, param, type, code);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new HttpError(500, message);
}

export function errorBody(e: HttpError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}
