/**
 * What every app's main does for observability, in one call after its settings are read: tracing
 * when the OTEL_* environment asks for it (service.name: the app's name, or OTEL_SERVICE_NAME),
 * the `/metrics` server on --metrics-port (-1: none), and one stdout line per piece that started.
 * On SIGTERM/SIGINT the spans still buffered are exported before the app's own shutdown ends it.
 * What it is not: the metrics themselves (each app's *.metrics.ts) or logging (../logging.ts).
 */
import { startMetricsServer, type RunningMetricsServer } from './metrics-server';
import { startTracing, type TracingHandle } from './tracing';

export interface TelemetrySettings {
  host: string;
  /** -1: no metrics server; 0: a free port. */
  metricsPort: number;
}

export interface AppTelemetry {
  metrics?: RunningMetricsServer;
  tracing?: TracingHandle;
  close(): Promise<void>;
}

export async function startTelemetry(name: string, settings: TelemetrySettings, env: NodeJS.ProcessEnv = process.env): Promise<AppTelemetry> {
  const tracing = await startTracing(name, env);
  const metrics = await startMetricsServer({ host: settings.host, port: settings.metricsPort, name });
  if (metrics) process.stdout.write(`${name}: metrics on http://${metrics.address}/metrics\n`);
  if (tracing) {
    process.stdout.write(`${name}: tracing on (service.name ${tracing.serviceName})\n`);
    const flush = () => void tracing.shutdown().catch(() => undefined);
    process.once('SIGTERM', flush);
    process.once('SIGINT', flush);
  }
  return {
    metrics,
    tracing,
    async close() {
      await metrics?.close();
      await tracing?.shutdown();
    },
  };
}
