/**
 * A bind that fails because an outgoing connection holds the port (the tokenizer-service's CI
 * flake, reproduced on loopback): the client's ephemeral local port P, then startGrpcServer on
 * 0.0.0.0:P fails with the usual "already in use" line, which now says that a connection holds it,
 * inside the ephemeral range, and names net.ipv4.ip_local_reserved_ports. A port a listener holds
 * keeps the plain line. portInUseHint is also checked on hand-written /proc files.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portInUseHint, startGrpcServer } from '@llm/platform';

const linux = process.platform === 'linux' ? describe : describe.skip;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

linux('startGrpcServer on a port an outgoing connection holds', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('fails with the one-line message, naming the ephemeral range and the reservation', async () => {
    const peer = createServer((s) => sockets.push(s));
    servers.push(peer);
    const peerPort = await listen(peer, 0, '127.0.0.1');
    const client = await new Promise<Socket>((resolve, reject) => {
      const c = createConnection({ host: '127.0.0.1', port: peerPort }, () => resolve(c)).on('error', reject);
    });
    sockets.push(client);
    const held = client.localPort as number; // picked by connect(): no SO_REUSEADDR, so a 0.0.0.0 bind conflicts
    await expect(startGrpcServer({ host: '0.0.0.0', port: held, services: [] })).rejects.toThrow(
      new RegExp(
        `^gRPC port ${held} on 0\\.0\\.0\\.0 is already in use \\(pass another --grpc-port, or stop what holds it; an outgoing connection holds it as its local port \\(inside this host's ephemeral port range \\d+-\\d+\\): keep the port out of that range with sysctl net\\.ipv4\\.ip_local_reserved_ports=${held} `,
      ),
    );
  });

  it('keeps the plain line when a listener holds the port', async () => {
    const other = createServer();
    servers.push(other);
    const port = await listen(other, 0, '0.0.0.0');
    await expect(startGrpcServer({ host: '0.0.0.0', port, services: [] })).rejects.toThrow(
      `gRPC port ${port} on 0.0.0.0 is already in use (pass another --grpc-port, or stop what holds it)`,
    );
  });
});

describe('portInUseHint on hand-written /proc files', () => {
  const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  // 50052 = 0xC384; 6379 = 0x18EB; state 01 ESTABLISHED, 06 TIME_WAIT, 0A LISTEN.
  const row = (local: string, remote: string, st: string) => `   0: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000  1000        0 1\n`;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'port-holder-'));
    mkdirSync(join(dir, 'net'));
    mkdirSync(join(dir, 'sys/net/ipv4'), { recursive: true });
    writeFileSync(join(dir, 'sys/net/ipv4/ip_local_port_range'), '32768\t60999\n');
    writeFileSync(join(dir, 'net/tcp6'), HEADER);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a TIME_WAIT connection from the port: the hint, with the range', () => {
    writeFileSync(join(dir, 'net/tcp'), HEADER + row('0200120A:C384', '0A00120A:18EB', '06'));
    expect(portInUseHint(50052, dir)).toBe(
      "; an outgoing connection holds it as its local port (inside this host's ephemeral port range 32768-60999): keep the port out of that range with sysctl net.ipv4.ip_local_reserved_ports=50052 (docker run --sysctl, compose sysctls:)",
    );
  });

  it('a listener on the port, or no socket on it, or no /proc: no hint', () => {
    writeFileSync(join(dir, 'net/tcp'), HEADER + row('0200120A:C384', '0A00120A:18EB', '01') + row('00000000:C384', '00000000:0000', '0A'));
    expect(portInUseHint(50052, dir)).toBe('');
    expect(portInUseHint(50054, dir)).toBe('');
    expect(portInUseHint(50052, join(dir, 'missing'))).toBe('');
  });

  it('a port outside the ephemeral range: the hint without the range', () => {
    writeFileSync(join(dir, 'net/tcp'), HEADER + row('0200120A:1F90', '0A00120A:18EB', '01')); // 8080
    expect(portInUseHint(8080, dir)).toMatch(/^; an outgoing connection holds it as its local port: keep the port out/);
  });
});
