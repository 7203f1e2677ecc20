/**
 * Why a server's bind found its port in use, where Linux can say (/proc): when no socket listens on
 * the port but a connection's local end holds it (ESTABLISHED, TIME_WAIT, ... in /proc/net/tcp{,6}),
 * the port was taken by an outgoing connection, which the kernel can only do for ports inside its
 * ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default; the platform's gRPC ports
 * 50051-50055 lie inside it). The hint then names the range and the fix:
 * net.ipv4.ip_local_reserved_ports.
 *
 * What it is not: a port scanner, nor a fix (a process cannot reserve ports for itself without
 * privileges; containers get the setting from their runtime: `docker run --sysctl`, compose
 * `sysctls:`, startPlatform). Elsewhere than Linux, or when /proc cannot be read, the hint is empty.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const LISTEN = '0A';

/** The one line for a listening port that is taken (at the bind, or at its reservation at start-up), with the hint below. */
export function portInUseError(what: string, flag: string, host: string, port: number): Error {
  return new Error(`${what} port ${port} on ${host} is already in use (pass another ${flag}, or stop what holds it${portInUseHint(port)})`);
}

/** portInUseError for a service's gRPC port. */
export const grpcPortInUseError = (host: string, port: number): Error => portInUseError('gRPC', '--grpc-port', host, port);

/** '' or '; <why>' to append to an "already in use" message about `port`. */
export function portInUseHint(port: number, procDir = '/proc'): string {
  const states = socketStates(port, procDir);
  if (states === undefined || states.size === 0 || states.has(LISTEN)) return '';
  const range = ephemeralRange(procDir);
  const where = range && port >= range[0] && port <= range[1] ? ` (inside this host's ephemeral port range ${range[0]}-${range[1]})` : '';
  return `; an outgoing connection holds it as its local port${where}: keep the port out of that range with sysctl net.ipv4.ip_local_reserved_ports=${port} (docker run --sysctl, compose sysctls:)`;
}

/** The TCP states (hex, as /proc prints them) of the sockets whose local port is `port`; undefined when unreadable. */
function socketStates(port: number, procDir: string): Set<string> | undefined {
  const states = new Set<string>();
  let read = false;
  for (const file of ['net/tcp', 'net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(join(procDir, file), 'utf8');
      read = true;
    } catch {
      continue;
    }
    // "  sl  local_address rem_address   st ..." then "   0: 0100007F:C384 00000000:0000 0A ..."
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4) continue;
      const local = fields[1].split(':').pop() ?? '';
      if (parseInt(local, 16) === port) states.add(fields[3].toUpperCase());
    }
  }
  return read ? states : undefined;
}

function ephemeralRange(procDir: string): [number, number] | undefined {
  try {
    const [lo, hi] = readFileSync(join(procDir, 'sys/net/ipv4/ip_local_port_range'), 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(lo) && Number.isInteger(hi) ? [lo, hi] : undefined;
  } catch {
    return undefined;
  }
}
