/**
 * Prometheus metrics with prom-client: one registry per process (`metricsRegistry()`), with the
 * default process and Node.js metrics under their standard names (`process_cpu_seconds_total`,
 * `nodejs_heap_size_used_bytes`, ... as every Node.js dashboard expects them), and helpers that
 * create-or-reuse a metric by name so that several services composed in one process (embedded
 * mode) share the registry without clashing.
 *
 * The event-loop lag gauges are this project's own (./telemetry/event-loop-lag.ts): prom-client's
 * report the empty histogram's minimum (9.2e9 s) when no sample landed between two scrapes. NOTE:
 * prom-client's nodejs_active_{handles,requests,resources}_total are left out: gauges named like
 * counters (promtool refuses them), and each is the sum of the per-type gauge without the suffix.
 * What it is not: the metric definitions (each app's *.metrics.ts) or the HTTP endpoint
 * (./telemetry/metrics-server.ts).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerEventLoopLag } from './telemetry/event-loop-lag';

export { Counter, Gauge, Histogram, Registry };

let registry: Registry | undefined;

export function metricsRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
    for (const name of registry.getMetricsAsArray().map((m) => m.name)) {
      if (name.startsWith('nodejs_eventloop_lag') || /^nodejs_active_\w+_total$/.test(name)) registry.removeSingleMetric(name);
    }
    registerEventLoopLag(registry);
  }
  return registry;
}

export function gauge(name: string, help: string, labelNames: string[] = [], collect?: (this: Gauge<string>) => void | Promise<void>): Gauge<string> {
  const existing = metricsRegistry().getSingleMetric(name);
  if (existing) return existing as Gauge<string>;
  return new Gauge({ name, help, labelNames, registers: [metricsRegistry()], ...(collect ? { collect } : {}) });
}

export function counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
  const existing = metricsRegistry().getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [metricsRegistry()] });
}

export function histogram(name: string, help: string, labelNames: string[] = [], buckets?: number[]): Histogram<string> {
  const existing = metricsRegistry().getSingleMetric(name);
  if (existing) return existing as Histogram<string>;
  return new Histogram({ name, help, labelNames, buckets, registers: [metricsRegistry()] });
}

/** Bucket bounds 1, 2, 5, 10, 20, 50, ... up to `max` (vLLM's build_1_2_5_buckets), for token counts. */
export function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let exp = 1; ; exp *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * exp > max) return out;
      out.push(m * exp);
    }
  }
}
