/**
 * Ports in tests: a free-port lookup on 127.0.0.1 (bind port 0, read it, release it), and the
 * container setting that keeps a server's listening ports out of the kernel's ephemeral range.
 */
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `{ 'net.ipv4.ip_local_reserved_ports': '50052,9452' }` for a container (HostConfig.Sysctls,
 * `docker run --sysctl`, compose `sysctls:`): connect() then never picks those ports as the local
 * port of an outgoing connection. Without it, a listening port inside the ephemeral range
 * (net.ipv4.ip_local_port_range, 32768-60999 by default) can be taken by the app's own earlier
 * outgoing connection, and its later bind of 0.0.0.0:PORT fails with EADDRINUSE (the connection's
 * socket, even in TIME_WAIT, holds the port, and it has no SO_REUSEADDR to share it).
 */
export function reservedPortsSysctl(ports: number[]): Record<string, string> {
  const unique = [...new Set(ports)].filter((p) => Number.isInteger(p) && p > 0 && p < 65536).sort((a, b) => a - b);
  if (unique.length === 0) return {};
  return { 'net.ipv4.ip_local_reserved_ports': unique.join(',') };
}
