/**
 * Health that tells the truth, split as Kubernetes splits it:
 *
 *   liveness   - the process runs and its event loop turns (gRPC health service `liveness`, HTTP
 *                /health/live): SERVING until shutdown. A failing liveness probe restarts the
 *                process, so it never depends on another service.
 *   readiness  - this service can do its work now: each of its checks (a dependency answers, a
 *                lease is held, a pool is registered) passed within its timeout (gRPC health
 *                service `readiness`, the server's own service names and '' follow it; HTTP
 *                /health answers 503 with the reason). A failing readiness probe only takes the
 *                pod out of the load balancer.
 *
 * Readiness polls its checks every `intervalMs` (default 1 s, each bounded by `timeoutMs`), so an
 * outage shows within intervalMs + timeoutMs (2 s by default, the issue asks for 5 s), and comes
 * back SERVING on the first pass after the dependency answers, without restarting anything. Each
 * change is one log line.
 *
 * What it is not: a dependency client. Checks are plain async functions that throw a short reason.
 */
import type { HealthState } from 'nice-grpc-server-health';
import { createLogger } from './logging';

export const LIVENESS_SERVICE = 'liveness';
export const READINESS_SERVICE = 'readiness';

/** A readiness condition: resolves when fine, throws (a short message) when not. */
export interface ReadinessCheck {
  /** What is checked, e.g. 'redis', 'worker 127.0.0.1:50054'. */
  name: string;
  check(): Promise<void>;
}

export interface ReadinessState {
  ready: boolean;
  /** When not ready: which check failed and why. */
  reason?: string;
}

export interface ReadinessOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** Component name for the state-change log lines. */
  component?: string;
}

export class Readiness {
  private current: ReadinessState = { ready: false, reason: 'starting' };
  private readonly listeners = new Set<(s: ReadinessState) => void>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private draining = false;
  private everReady = false;
  private readonly log;

  constructor(
    private readonly checks: ReadinessCheck[],
    private readonly opts: ReadinessOptions = {},
  ) {
    this.log = createLogger(opts.component ?? 'health');
  }

  get state(): ReadinessState {
    return this.current;
  }

  /** Runs the checks once now and then every intervalMs. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Not ready from now on (graceful shutdown: stop taking new work), whatever the checks say. */
  drain(reason = 'shutting down'): void {
    this.draining = true;
    this.set({ ready: false, reason });
  }

  onChange(fn: (s: ReadinessState) => void): () => void {
    this.listeners.add(fn);
    fn(this.current);
    return () => this.listeners.delete(fn);
  }

  /** One pass over the checks (concurrent calls share the pass). */
  poll(): Promise<void> {
    this.running ??= this.runChecks().finally(() => (this.running = undefined));
    return this.running;
  }

  private async runChecks(): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? 1000;
    const results = await Promise.all(this.checks.map((c) => withTimeout(c.check(), timeoutMs).then(() => null, (err: unknown) => `${c.name}: ${reasonOf(err)}`)));
    if (this.draining) return;
    const failed = results.filter((r): r is string => r !== null);
    this.set(failed.length === 0 ? { ready: true } : { ready: false, reason: failed.join('; ') });
  }

  private set(next: ReadinessState): void {
    const prev = this.current;
    this.current = next;
    if (prev.ready === next.ready && prev.reason === next.reason) return;
    if (next.ready) this.log.info(this.everReady ? `ready again (was: ${prev.reason})` : 'ready');
    else if (this.everReady) this.log.warn(`not ready: ${next.reason}`); // before the first ready, waiting is normal
    if (next.ready) this.everReady = true;
    for (const fn of this.listeners) fn(next);
  }
}

/** Keeps a gRPC HealthState in step: liveness always SERVING; readiness, '' and `services` follow `readiness`. */
export function bindHealth(health: HealthState, services: readonly string[], readiness?: Readiness): () => void {
  health.setStatus('healthy', LIVENESS_SERVICE);
  const apply = (s: ReadinessState) => {
    const status = s.ready ? 'healthy' : 'unhealthy';
    for (const name of ['', READINESS_SERVICE, ...services]) health.setStatus(status, name);
  };
  if (!readiness) {
    apply({ ready: true });
    return () => undefined;
  }
  return readiness.onChange(apply);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** A failure as a short reason (gRPC details, an errno code, or the first line of the message). */
export function reasonOf(err: unknown): string {
  const e = err as { details?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.details === 'string' && e.details) return e.details.slice(0, 200);
  const msg = typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err);
  return msg.slice(0, 200);
}
