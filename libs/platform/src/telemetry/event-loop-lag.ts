/**
 * Event-loop lag gauges under prom-client's names (`nodejs_eventloop_lag_seconds`, `_min_`,
 * `_max_`, `_mean_`, `_stddev_`, `_p50_`, `_p90_`, `_p99_seconds`) from perf_hooks'
 * monitorEventLoopDelay, reset at each scrape so each value covers one scrape interval.
 *
 * NOTE: differs from prom-client's collector in one way: an interval in which no delay sample
 * landed (two scrapes closer than the 10 ms sampling resolution) keeps the previous values instead
 * of reporting the empty histogram, whose minimum is 2^63 ns (the "9.2e9 s" minimum).
 * What it is not: a profiler; `nodejs_eventloop_lag_seconds` is the delay of one setImmediate.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

const STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;
type Stat = (typeof STATS)[number];

export function registerEventLoopLag(registry: Registry, resolutionMs = 10): void {
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  const value: Record<Stat, () => number> = {
    min: () => delay.min,
    max: () => delay.max,
    mean: () => delay.mean,
    stddev: () => delay.stddev,
    p50: () => delay.percentile(50),
    p90: () => delay.percentile(90),
    p99: () => delay.percentile(99),
  };
  // Registered after the lag gauge, whose collect sets them all before the registry reads them.
  const gauges = Object.fromEntries(
    STATS.map((s) => [s, new Gauge({ name: `nodejs_eventloop_lag_${s}_seconds`, help: `The ${s} of the recorded event loop delays since the last scrape.`, registers: [] })]),
  ) as Record<Stat, Gauge<string>>;
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers: [registry],
    collect(this: Gauge<string>) {
      const start = process.hrtime.bigint();
      setImmediate(() => this.set(Number(process.hrtime.bigint() - start) / 1e9));
      if (delay.count === 0) return;
      for (const s of STATS) gauges[s].set(value[s]() / 1e9);
      delay.reset();
    },
  });
  for (const s of STATS) registry.registerMetric(gauges[s]);
}
