/**
 * reservePort / releasePort (src/grpc/port-reservation.ts): a reserved port belongs to the process
 * until startGrpcServer binds it. While reserved, no other socket can take it -- neither a server
 * nor a connection's local end (the way an outgoing connection stole the tokenizer-service's port
 * in CI; see port-holder.spec.ts for that failure itself) -- a connection offered to it is refused
 * at once rather than left hanging, and startGrpcServer on it releases it and serves. All on
 * 127.0.0.1.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { isReserved, portInUseError, releasePort, reservePort, startGrpcServer } from '@llm/platform';

const HOST = '127.0.0.1';

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => resolve((server.address() as { port: number }).port));
  });
}

/** A port that was free a moment ago (bind 0, close). */
async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s, 0);
  await new Promise((r) => s.close(r));
  return port;
}

/** Connects from local port `localPort` to `port`; resolves with the error code, or 'connected'. */
function connectFrom(localPort: number, port: number): Promise<string> {
  return new Promise((resolve) => {
    const c: Socket = createConnection({ host: HOST, port, localAddress: HOST, localPort });
    c.once('connect', () => {
      c.destroy();
      resolve('connected');
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('port reservation', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('keeps a reserved port from connections and servers alike, and gives it back on release', async () => {
    const peer = createServer((s) => s.destroy());
    servers.push(peer);
    const peerPort = await listen(peer, 0);
    const port = await freePort();
    await reservePort(HOST, port);
    expect(isReserved(HOST, port)).toBe(true);
    expect(await connectFrom(port, peerPort)).toBe('EADDRINUSE'); // a connection cannot take it as its local port
    const other = createServer();
    await expect(listen(other, port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(await releasePort(HOST, port)).toBe(true);
    expect(isReserved(HOST, port)).toBe(false);
    expect(await connectFrom(port, peerPort)).toBe('connected');
    expect(await releasePort(HOST, port)).toBe(false); // nothing left to release
  });

  it('refuses a connection offered to the reserved port at once (an early health check gets a reset, not a hang)', async () => {
    const port = await freePort();
    await reservePort(HOST, port);
    try {
      const outcome = await new Promise<string>((resolve) => {
        const c = createConnection({ host: HOST, port });
        const timer = setTimeout(() => {
          c.destroy();
          resolve('still open after 2 s');
        }, 2000);
        c.once('close', () => {
          clearTimeout(timer);
          resolve('closed');
        });
        c.once('error', () => undefined);
      });
      expect(outcome).toBe('closed');
    } finally {
      await releasePort(HOST, port);
    }
  });

  it('startGrpcServer on a reserved port releases the reservation and serves', async () => {
    const port = await freePort();
    await reservePort(HOST, port);
    const server = await startGrpcServer({ host: HOST, port, services: [] });
    try {
      expect(server.port).toBe(port);
      expect(isReserved(HOST, port)).toBe(false);
    } finally {
      await server.close(100);
    }
  });

  it('fails at once with the one-line message on a port already in use, and ignores port 0', async () => {
    const taken = createServer();
    servers.push(taken);
    const port = await listen(taken, 0);
    await expect(reservePort(HOST, port)).rejects.toThrow(`gRPC port ${port} on ${HOST} is already in use (pass another --grpc-port, or stop what holds it`);
    expect(isReserved(HOST, port)).toBe(false);
    await reservePort(HOST, 0);
    expect(isReserved(HOST, 0)).toBe(false);
  });

  it('holds an HTTP port the same way, with its own line when taken, and a plain server binds it after release', async () => {
    const httpInUse = (h: string, p: number) => portInUseError('HTTP', '--http-port', h, p);
    const taken = createServer();
    servers.push(taken);
    const busy = await listen(taken, 0);
    await expect(reservePort(HOST, busy, httpInUse)).rejects.toThrow(`HTTP port ${busy} on ${HOST} is already in use (pass another --http-port, or stop what holds it`);
    const port = await freePort();
    await reservePort(HOST, port, httpInUse);
    await releasePort(HOST, port);
    const http = createServer();
    servers.push(http);
    expect(await listen(http, port)).toBe(port);
  });
});
