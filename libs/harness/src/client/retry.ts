/*
 * Retries with exponential backoff and full jitter, deadlines, and a concurrency limit: the
 * three things every client call goes through.
 *
 *   delay(attempt) = random(0, min(maxDelay, baseDelay * 2^attempt)), or the server's Retry-After
 *
 * An error is retried only when it says so (`retriable`): HTTP 408, 409, 429, 5xx, refused or
 * reset connections, gRPC UNAVAILABLE / RESOURCE_EXHAUSTED / ABORTED. A 400 is never retried.
 * What it is not: a circuit breaker.
 * Reference: AWS Architecture Blog, "Exponential Backoff and Jitter" (full jitter).
 */

/** A failed call to a model endpoint: one line that says what, where and what to do. */
export class EndpointError extends Error {
  constructor(
    message: string,
    /** HTTP status (or gRPC code + 1000), 0 for network errors and deadlines. */
    readonly status: number,
    readonly retriable: boolean,
    /** The request field the endpoint blamed (OpenAI error `param`), when it named one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'EndpointError';
  }
}

export interface RetryPolicy {
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt time limit (default 120 s). */
  attemptTimeoutMs?: number;
  /** Overall limit across attempts and waits (default: none). */
  deadlineMs?: number;
}

export const RETRIABLE_HTTP = new Set([408, 409, 429, 500, 502, 503, 504]);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Runs `attempt` until it succeeds, fails with a non-retriable error, or the retries or the
 * deadline run out. `attempt` gets a signal that fires at its own time limit.
 */
export async function withRetries<T>(
  describe: string,
  policy: RetryPolicy,
  attempt: (signal: AbortSignal, n: number) => Promise<T>,
  outer?: AbortSignal,
): Promise<T> {
  const maxRetries = policy.maxRetries ?? 3;
  const base = policy.baseDelayMs ?? 250;
  const cap = policy.maxDelayMs ?? 8000;
  const perAttempt = policy.attemptTimeoutMs ?? 120_000;
  const deadline = policy.deadlineMs !== undefined ? Date.now() + policy.deadlineMs : Infinity;
  for (let n = 0; ; n++) {
    const left = deadline - Date.now();
    if (left <= 0) throw new EndpointError(`${describe}: no answer within the ${policy.deadlineMs} ms deadline`, 0, false);
    const limit = Math.min(perAttempt, left);
    const timer = AbortSignal.timeout(limit);
    const signal = outer ? AbortSignal.any([outer, timer]) : timer;
    try {
      return await attempt(signal, n);
    } catch (err) {
      if (outer?.aborted) throw err;
      const e = timer.aborted ? new EndpointError(`${describe}: no answer within ${limit} ms`, 0, true) : toEndpointError(err, describe);
      if (!e.retriable || n >= maxRetries) {
        if (n > 0) e.message = `${e.message} (gave up after ${n + 1} attempts)`;
        throw e;
      }
      const retryAfter = (err as { retryAfterMs?: number }).retryAfterMs;
      const wait = retryAfter ?? Math.random() * Math.min(cap, base * 2 ** n);
      await sleep(Math.min(wait, Math.max(0, deadline - Date.now())), outer);
    }
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN']);
/** gRPC status codes worth retrying: UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED. */
const RETRIABLE_GRPC = new Set([14, 8, 10]);

/** Any thrown value as an EndpointError (network errors retriable, gRPC codes mapped). */
export function toEndpointError(err: unknown, describe: string): EndpointError {
  if (err instanceof EndpointError) return err;
  const e = err as { code?: unknown; cause?: { code?: string; message?: string }; message?: string; details?: string };
  if (typeof e?.code === 'number') {
    return new EndpointError(`${describe}: gRPC status ${e.code}: ${e.details ?? e.message}`, 1000 + e.code, RETRIABLE_GRPC.has(e.code));
  }
  const code = e?.cause?.code ?? (typeof e?.code === 'string' ? e.code : undefined);
  if (code && NETWORK_CODES.has(code)) return new EndpointError(`${describe}: cannot connect (${code})`, 0, true);
  if (e?.message === 'fetch failed') return new EndpointError(`${describe}: cannot connect (${e.cause?.message ?? 'fetch failed'})`, 0, true);
  return new EndpointError(`${describe}: ${e?.message ?? String(err)}`, 0, false);
}

/** At most `limit` calls at once; the rest wait in FIFO order. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`concurrency must be a positive integer, got ${limit}`);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
