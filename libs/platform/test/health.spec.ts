/*
 * Liveness and readiness on a real gRPC server: liveness is SERVING whatever the checks say;
 * readiness, '' and the server's service names follow the checks, turning NOT_SERVING within a
 * poll of a check failing and SERVING again when it passes, with no restart; a check that hangs
 * counts as failing after its timeout; drain() makes it NOT_SERVING for good.
 */
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { kv } from '@llm/proto';
import { Readiness, startGrpcServer } from '../src';

const SERVING = 1;
const NOT_SERVING = 2;

async function until(cond: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

it('readiness follows the checks; liveness does not', async () => {
  let dependency: 'up' | 'down' | 'hang' = 'up';
  const readiness = new Readiness([{ name: 'dependency', check: () => (dependency === 'up' ? Promise.resolve() : dependency === 'hang' ? new Promise<void>(() => undefined) : Promise.reject(new Error('connection refused'))) }], { intervalMs: 100, timeoutMs: 150 });
  await readiness.start();
  const server = await startGrpcServer({ port: 0, services: [{ definition: kv.KvManagerDefinition, implementation: {} }], readiness });
  const channel = createChannel(server.address);
  const health = createClient(HealthDefinition, channel);
  const status = async (service: string) => (await health.check({ service })).status;
  try {
    for (const s of ['', 'liveness', 'readiness', 'llm.kv.v1.KvManager']) expect(await status(s)).toBe(SERVING);
    dependency = 'down';
    expect(await until(async () => (await status('readiness')) === NOT_SERVING, 2000)).toBeLessThan(1000);
    expect(await status('')).toBe(NOT_SERVING);
    expect(await status('llm.kv.v1.KvManager')).toBe(NOT_SERVING);
    expect(await status('liveness')).toBe(SERVING);
    expect(readiness.state).toEqual({ ready: false, reason: 'dependency: connection refused' });
    dependency = 'up';
    await until(async () => (await status('readiness')) === SERVING, 2000);
    dependency = 'hang';
    await until(async () => (await status('readiness')) === NOT_SERVING, 2000);
    expect(readiness.state.reason).toMatch(/no answer within 150 ms/);
    dependency = 'up';
    await until(async () => (await status('readiness')) === SERVING, 2000);
    readiness.drain();
    expect(await status('readiness')).toBe(NOT_SERVING);
    await new Promise((r) => setTimeout(r, 250));
    expect(await status('readiness')).toBe(NOT_SERVING); // checks passing do not undo a drain
    expect(await status('liveness')).toBe(SERVING);
  } finally {
    channel.close();
    readiness.stop();
    await server.close(100);
  }
});
