/**
 * The `/metrics` endpoint every app serves on its `--metrics-port` (Prometheus text format of the
 * process registry), plain HTTP on the app's --host. Port -1: no server; 0: a free port (tests).
 * The server never keeps a process alive (unref'd): it lives as long as the app does.
 *
 * NOTE: plain HTTP even when the app's gRPC port serves TLS: metrics carry no request content or
 * secrets; bind --host to a private interface, or pass --metrics-port -1, where that matters.
 * What it is not: the orchestrator's public HTTP port, which also answers GET /metrics.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { metricsRegistry } from '../metrics';

export interface RunningMetricsServer {
  /** host:port it listens on. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Answers GET /metrics from the process registry (404 for any other path). */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' || path !== '/metrics') {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('only GET /metrics is served on this port\n');
    return;
  }
  const reg = metricsRegistry();
  try {
    const text = await reg.metrics();
    res.writeHead(200, { 'Content-Type': reg.contentType });
    res.end(text);
  } catch (err) {
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(`metrics could not be collected: ${(err as Error).message}\n`);
  }
}

export async function startMetricsServer(options: { host?: string; port: number; name: string }): Promise<RunningMetricsServer | undefined> {
  if (options.port < 0) return undefined;
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => void serveMetrics(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`${options.name}: metrics port ${options.port} on ${host} is in use (pass another --metrics-port, or -1 for none)`)
          : err,
      ),
    );
    server.listen(options.port, host, () => resolve());
  });
  server.unref();
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    address: `${shown}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
