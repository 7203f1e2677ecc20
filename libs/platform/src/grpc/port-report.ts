/**
 * The ports a service process is listening on, told to the process that started it: a child of
 * `llm serve --distributed` is started with port 0 for every port nobody fixed (gRPC, /metrics, the
 * api's HTTP), lets the OS choose each one at its own bind, and once all are bound sends one IPC
 * message `{ type: 'llm.bound-ports', grpc, metrics?, http? }`. The parent learns the real ports
 * from it, probes readiness there and hands the addresses to the processes started after.
 *
 * Why not have the parent pick free ports: a port the parent probed and closed again is free for
 * anyone until the child binds it, and the ports the OS offers lie in the ephemeral range that
 * outgoing connections draw their local ports from; one such connection taking the port between
 * the pick and the child's bind failed a CI run ("gRPC port N already in use"). A port chosen at the
 * bind itself has no such window.
 *
 * What it is not: a discovery protocol. Without an IPC channel (containers, a shell) nothing is
 * sent; the process's stdout line still names its address.
 */

export const BOUND_PORTS_MESSAGE = 'llm.bound-ports';

/** The listening ports of one service process, as bound. */
export interface BoundPorts {
  grpc: number;
  /** The /metrics server's port (absent: turned off). */
  metrics?: number;
  /** The api role's OpenAI-compatible HTTP port (absent: none). */
  http?: number;
}

export interface BoundPortsMessage extends BoundPorts {
  type: typeof BOUND_PORTS_MESSAGE;
}

/** Sends the bound ports to the parent over the IPC channel, when this process has one; returns whether it did. */
export function reportBoundPorts(ports: BoundPorts, proc: Pick<NodeJS.Process, 'send' | 'connected'> = process): boolean {
  if (!proc.send || !proc.connected) return false;
  const message: BoundPortsMessage = { type: BOUND_PORTS_MESSAGE, ...ports };
  proc.send(message);
  return true;
}

/** Whether an IPC message is a bound-ports report with valid port numbers. */
export function isBoundPortsMessage(m: unknown): m is BoundPortsMessage {
  const r = m as Partial<BoundPortsMessage> | null;
  const valid = (p: unknown, optional: boolean) => (optional && p === undefined) || (Number.isInteger(p) && (p as number) > 0 && (p as number) < 65536);
  return typeof r === 'object' && r !== null && r.type === BOUND_PORTS_MESSAGE && valid(r.grpc, false) && valid(r.metrics, true) && valid(r.http, true);
}

/** The port of a `host:port` / `[v6]:port` address. */
export function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}
