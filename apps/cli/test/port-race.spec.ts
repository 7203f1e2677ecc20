/**
 * The port race of `llm serve --distributed`, against a real app (the kv-manager's compiled main):
 *
 * - the old way (the parent probes a free port, closes it, hands the number on): when an outgoing
 *   connection gets that port as its local port before the child binds it (connect() draws local
 *   ports from the same ephemeral range the probe's port came from), the child exits with "already
 *   in use". The kernel's timing cannot be forced from a test, so the test takes the outcome of the
 *   race as given: an ordinary outgoing connection (local port chosen by the kernel, as for Redis or
 *   gRPC clients; a socket bound with SO_REUSEADDR, as Node binds them, would not conflict) holds a
 *   port, and that port is the number handed to the child.
 * - the new way (child-ports.ts: the child gets port 0, binds, reports): with such connections
 *   alive, the child reports the ports it bound and serves there; no number changes hands between
 *   a probe and a bind, so there is nothing for a connection to take.
 * - a restart serves the reported ports again, and the supervisor holds them while the child is down.
 */
import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { isReserved } from '@llm/platform';
import { startReporting, waitBoundPorts } from '../src/serve/child-ports';
import { repoRoot } from '../src/serve/default-model';
import { waitReady } from '../src/serve/preflight';
import { Supervisor, type ChildSpec } from '../src/serve/supervisor';

jest.setTimeout(60_000);

const HOST = '127.0.0.1';
const KV_MAIN = join(repoRoot(), 'apps', 'kv-manager', 'dist', 'src', 'main.js');
const kvEnv = (grpcPort: number, metricsPort: number): Record<string, string> => ({
  ...(process.env as Record<string, string>),
  LLM_HOST: HOST,
  LLM_GRPC_PORT: String(grpcPort),
  LLM_METRICS_PORT: String(metricsPort),
  LLM_LOG_LEVEL: 'warn',
});

let target: Server;
const sockets: Socket[] = [];

beforeAll(async () => {
  target = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => target.listen(0, HOST, resolve));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => target.close(resolve));
});

const targetPort = (): number => {
  const addr = target.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
};

/** An ordinary outgoing connection: its local port is one of the ephemeral range, chosen by the kernel. */
function outgoing(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port: targetPort() }, () => resolve(s.localPort as number));
    s.once('error', reject);
    sockets.push(s);
  });
}

/** An outgoing connection from local port `port` (Node binds it with SO_REUSEADDR); fails with EADDRINUSE while a socket listens there. */
function outgoingFrom(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port: targetPort(), localAddress: HOST, localPort: port }, () => resolve(s));
    s.once('error', reject);
    sockets.push(s);
  });
}

it('the old way: a port picked by the parent and taken by an outgoing connection before the child binds fails the child', async () => {
  const picked = await outgoing(); // the port the parent handed on, after a connection took it
  const child = spawn(process.execPath, [KV_MAIN], { env: kvEnv(picked, -1), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = setTimeout(() => child.kill('SIGKILL'), 30_000); // a child that bound anyway fails the test, not hangs it
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(stop);
  expect(code).toBe(1);
  expect(stderr).toContain(`gRPC port ${picked} on ${HOST} is already in use`);
  expect(stderr).toContain('an outgoing connection holds it as its local port');
});

describe('the new way: port 0, bound and reported by the child', () => {
  const supervisor = new Supervisor({ say: () => undefined, initialBackoffMs: 2000 });
  afterAll(() => supervisor.stopAll(['kv-manager'], () => 5000));

  it('comes up on ports it chose itself, whatever outgoing connections took meanwhile; a restart serves the same ports, held while it is down', async () => {
    // Outgoing connections alive while the child starts, as in the test above.
    const taken = await Promise.all([outgoing(), outgoing(), outgoing()]);
    const spec: ChildSpec = { command: process.execPath, args: [KV_MAIN], env: kvEnv(0, 0) };
    const ports = await startReporting(supervisor, 'kv-manager', spec, 30_000);
    expect(taken).not.toContain(ports.grpc);
    expect(taken).not.toContain(ports.metrics);
    expect(ports.metrics).toBeDefined();
    expect(ports.metrics).not.toBe(ports.grpc);
    expect(ports.http).toBeUndefined();
    // The reported ports are the ones it serves: gRPC health SERVING and /metrics answering there.
    await waitReady('kv-manager', ports.grpc, () => supervisor.current('kv-manager'), 10_000);
    expect((await fetch(`http://${HOST}:${ports.metrics}/metrics`)).status).toBe(200);

    // A crash: the supervisor holds both ports during the backoff (an outgoing connection cannot take them) ...
    const first = supervisor.current('kv-manager')!;
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const until = Date.now() + 1500;
    while (!(isReserved(HOST, ports.grpc) && isReserved(HOST, ports.metrics!)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(supervisor.isDown('kv-manager')).toBe(true);
    await expect(outgoingFrom(ports.grpc)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(outgoingFrom(ports.metrics!)).rejects.toMatchObject({ code: 'EADDRINUSE' });

    // ... and the restarted child (pinned to them) reports and serves the same ports.
    const restartBy = Date.now() + 10_000;
    while (supervisor.current('kv-manager') === first && Date.now() < restartBy) await new Promise((r) => setTimeout(r, 50));
    const again = await waitBoundPorts('kv-manager', supervisor.current('kv-manager')!, 30_000);
    expect(again).toEqual(ports);
    expect(isReserved(HOST, ports.grpc)).toBe(false);
    await waitReady('kv-manager', ports.grpc, () => supervisor.current('kv-manager'), 10_000);
  });
});

describe('waitBoundPorts', () => {
  const child = (code: string) => spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });

  it('takes the first valid report and ignores other messages', async () => {
    const c = child(`process.send({ type: 'other', grpc: 1 }); process.send({ type: 'llm.bound-ports', grpc: 0 }); process.send({ type: 'llm.bound-ports', grpc: 41001, metrics: 41002 }); process.disconnect();`);
    await expect(waitBoundPorts('c', c, 10_000)).resolves.toEqual({ grpc: 41001, metrics: 41002, http: undefined });
  });

  it('fails with one line when the child exits before it reports, or never reports', async () => {
    await expect(waitBoundPorts('kv-manager', child('process.exit(3)'), 10_000)).rejects.toThrow('kv-manager exited during start-up (code 3; its error is above)');
    const silent = child('setTimeout(() => undefined, 5000)');
    await expect(waitBoundPorts('router', silent, 300)).rejects.toThrow('router did not report its listening ports within 0 s');
    silent.kill('SIGKILL');
  });
});
