/**
 * The metrics ports of `llm serve --distributed`'s processes: by default 0 each, so each process
 * binds a free port of the OS's choice and reports it (libs/platform's port-report; several
 * platforms and tests share a machine), or `--metrics-port B`: B + a fixed offset per process,
 * the last digit of each app's default metrics port (B = 9450 gives the apps' defaults):
 *
 *   orchestrator-api B+1     tokenizer-service B+2   router B+3   attention-worker B+4
 *   kv-manager B+5           orchestrator-scheduler B+6
 *
 * What it is not: the metrics (each app's) or the server (libs/platform's startMetricsServer).
 */
export const METRICS_OFFSETS = {
  'orchestrator-api': 1,
  'tokenizer-service': 2,
  router: 3,
  'attention-worker': 4,
  'kv-manager': 5,
  'orchestrator-scheduler': 6,
} as const;

export type MetricsProcess = keyof typeof METRICS_OFFSETS;

/** Each process's --metrics-port: base + offset, or 0 (the process binds a free one and reports it) when base is 0. */
export function metricsPortsOf(base: number): Record<MetricsProcess, number> {
  const out = {} as Record<MetricsProcess, number>;
  for (const [name, offset] of Object.entries(METRICS_OFFSETS) as [MetricsProcess, number][]) {
    out[name] = base > 0 ? base + offset : 0;
  }
  return out;
}
