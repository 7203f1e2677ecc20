/**
 * waitForHttpReady(): polls an HTTP readiness endpoint (the orchestrator's GET /health/ready by
 * default) until it answers 2xx, bounded by a deadline; refused or reset connections and non-2xx
 * answers (503 while the orchestrator starts or drains) are retried, every attempt has its own
 * short timeout, and the error on expiry names the last status or connection error.
 *
 * Why not a TCP probe (waitForPort): a port Docker publishes through its userland proxy accepts
 * connections before anything in the container listens (the proxy then closes them, and the
 * client's fetch fails with "fetch failed"); and a /metrics target being up says nothing of the
 * HTTP API, which the orchestrator starts later (after Redis and its model).
 *
 * What it is not: a retry around requests under test (those must succeed the first time).
 */
export interface WaitForHttpReadyOptions {
  /** Path of the readiness endpoint (default /health/ready). */
  path?: string;
  /** Overall bound (default 60 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 250 ms). */
  intervalMs?: number;
  /** Bound on one probe (default 2 s): a connection that is accepted but never answered does not stall the wait. */
  attemptTimeoutMs?: number;
  /** Headers of each probe, e.g. `{ authorization: 'Bearer KEY' }` where the endpoint needs a key. */
  headers?: Record<string, string>;
}

export async function waitForHttpReady(baseUrl: string, options: WaitForHttpReadyOptions = {}): Promise<void> {
  const url = `${baseUrl.replace(/\/$/, '')}${options.path ?? '/health/ready'}`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const until = Date.now() + timeoutMs;
  let last = 'no attempt';
  for (;;) {
    const left = until - Date.now();
    try {
      const res = await fetch(url, { headers: options.headers, signal: AbortSignal.timeout(Math.max(1, Math.min(options.attemptTimeoutMs ?? 2_000, left))) });
      const body = await res.text().catch(() => '');
      if (res.ok) return;
      last = `HTTP ${res.status}${body ? ` ${body.slice(0, 200)}` : ''}`;
    } catch (err) {
      last = describe(err);
    }
    if (Date.now() + (options.intervalMs ?? 250) > until) break;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms (last: ${last})`);
}

/** "fetch failed (ECONNREFUSED)": undici hides the socket's reason in `cause`. */
function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return `${e.message ?? String(err)}${cause ? ` (${cause})` : ''}`;
}
