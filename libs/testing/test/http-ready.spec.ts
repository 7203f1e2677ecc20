/**
 * waitForHttpReady against loopback servers that behave like a starting orchestrator behind
 * Docker's userland proxy: first a port that accepts and drops every connection (the proxy while
 * nothing in the container listens; a bare fetch then fails with "fetch failed", the CI flake of
 * compose-prometheus.spec), then 503 from /health/ready, then 200. Also the bound: a server that
 * never gets ready, and a port where nothing listens, fail with the last reason.
 * And reservedPortsSysctl's setting string.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { freePort, reservedPortsSysctl, waitForHttpReady } from '../src';

function close(server: { close(cb: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('waitForHttpReady', () => {
  it('rides out dropped connections and 503s, then the request under test succeeds first time', async () => {
    const port = await freePort();
    // Phase 1: the port accepts and drops (Docker's proxy before the container's server listens).
    const sockets = new Set<Socket>();
    const proxy = createTcpServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      setTimeout(() => s.end(), 5);
    });
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', () => r()));
    await expect(fetch(`http://127.0.0.1:${port}/v1/completions`, { method: 'POST', body: '{}' })).rejects.toThrow('fetch failed');

    const probes: number[] = [];
    const waiting = waitForHttpReady(`http://127.0.0.1:${port}`, { timeoutMs: 10_000, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    expect(sockets.size).toBeGreaterThan(2); // the bare fetch, then probes through the dropped connections
    for (const s of sockets) s.destroy();
    await close(proxy);

    // Phase 2: the API listens; /health/ready is 503 for its first three probes, then 200.
    const api: Server = createHttpServer((req, res) => {
      if (req.url === '/health/ready') {
        probes.push(Date.now());
        const ready = probes.length > 3;
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(ready ? { status: 'ok' } : { status: 'not ready', reason: 'loading' }));
        return;
      }
      res.writeHead(probes.length > 3 ? 200 : 503).end();
    });
    await new Promise<void>((r) => api.listen(port, '127.0.0.1', () => r()));
    try {
      await waiting;
      expect(probes.length).toBe(4);
      expect((await fetch(`http://127.0.0.1:${port}/v1/models`)).status).toBe(200);
    } finally {
      api.closeAllConnections();
      await close(api);
    }
  });

  it('bounds each probe: a connection that never answers does not stall it', async () => {
    const held = new Set<Socket>();
    const silent = createTcpServer((s) => held.add(s.on('error', () => undefined))); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const { port } = silent.address() as { port: number };
    const t0 = Date.now();
    try {
      await expect(waitForHttpReady(`http://127.0.0.1:${port}`, { timeoutMs: 800, intervalMs: 50, attemptTimeoutMs: 200 })).rejects.toThrow(/not ready within 800 ms \(last: .*timeout/i);
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      for (const s of held) s.destroy();
      await close(silent);
    }
  });

  it('gives up at its bound with the last status', async () => {
    const api = createHttpServer((_req, res) => res.writeHead(503).end('{"reason":"draining"}'));
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    const { port } = api.address() as { port: number };
    const t0 = Date.now();
    try {
      await expect(waitForHttpReady(`http://127.0.0.1:${port}`, { timeoutMs: 600, intervalMs: 50 })).rejects.toThrow(
        `http://127.0.0.1:${port}/health/ready was not ready within 600 ms (last: HTTP 503 {"reason":"draining"})`,
      );
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      api.closeAllConnections();
      await close(api);
    }
  });

  it('names the connection error when nothing listens', async () => {
    const port = await freePort();
    await expect(waitForHttpReady(`http://127.0.0.1:${port}/`, { path: '/health/live', timeoutMs: 300, intervalMs: 50 })).rejects.toThrow(
      /health\/live was not ready within 300 ms \(last: fetch failed \(ECONNREFUSED\)\)/,
    );
  });
});

describe('reservedPortsSysctl', () => {
  it('lists each port once, ascending, and nothing for no ports', () => {
    expect(reservedPortsSysctl([50052, 9452, 50052])).toEqual({ 'net.ipv4.ip_local_reserved_ports': '9452,50052' });
    expect(reservedPortsSysctl([-1, 0])).toEqual({});
  });
});
