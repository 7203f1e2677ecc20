/**
 * Holding a service's listening ports from the first moment of its process until its servers bind
 * them: every app's main calls `reservePort(host, port)` for its gRPC port (and the orchestrator's
 * api for its HTTP port) before it opens any outgoing connection (Redis, the kv-manager, an OTLP
 * collector), and startGrpcServer / the HTTP listen release the reservation right before their
 * own bind.
 *
 * Why: the platform's gRPC ports (50051-50055, and the ports a restarted child of `llm serve
 * --distributed` serves again) lie inside Linux's ephemeral range, as do any ports chosen with port
 * 0, and connect() takes the local ports of outgoing connections from that range. (A first start of
 * `llm serve --distributed` passes port 0 and the child reports what it bound: ./port-report.ts.) An app that connects before it binds can have one of its own connections take the
 * port it is about to serve on, and its bind then fails with "already in use" (seen in CI: the
 * tokenizer-service's Redis connections and port 50052). The kernel never gives an outgoing
 * connection a port that a socket is bound to, so a plain listening socket on the port, held while
 * the app starts, closes that window everywhere: processes, containers and Kubernetes pods alike,
 * with no privileges and no runtime setting (compose and the test platform also reserve the ports
 * with net.ipv4.ip_local_reserved_ports; this covers what they do not).
 *
 * The holder refuses every connection it is offered (a health check that comes early gets a reset,
 * not a hang). Port 0 (a free port, chosen at bind) is not reserved. A port already in use fails
 * here, at the very start, with the same line the bind would give.
 *
 * Not a port allocator: the port comes from the app's configuration.
 */
import { createServer, type Server } from 'node:net';
import { grpcPortInUseError } from './port-holder';

const held = new Map<string, Server>();
const keyOf = (host: string, port: number): string => `${host}|${port}`;

/**
 * Listens on host:port with a socket that refuses every connection, until releasePort. A taken
 * port rejects with `inUse(host, port)` (default: the gRPC port's line).
 */
export async function reservePort(host: string, port: number, inUse: (host: string, port: number) => Error = grpcPortInUseError): Promise<void> {
  if (port === 0 || held.has(keyOf(host, port))) return;
  const holder = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    holder.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? inUse(host, port) : new Error(`cannot listen on ${host}:${port}: ${err.message}`));
    });
    holder.listen({ host, port, exclusive: true }, () => resolve());
  });
  holder.unref(); // a reservation never keeps the process alive
  held.set(keyOf(host, port), holder);
}

/** Closes the reservation of host:port, if any; resolves once the port is free for the real bind. */
export async function releasePort(host: string, port: number): Promise<boolean> {
  const holder = held.get(keyOf(host, port));
  if (!holder) return false;
  held.delete(keyOf(host, port));
  await new Promise<void>((resolve) => holder.close(() => resolve()));
  return true;
}

/** Whether host:port is reserved now. */
export function isReserved(host: string, port: number): boolean {
  return held.has(keyOf(host, port));
}
