/*
 * A distributed orchestrator in the test process, wired as in production except for process
 * boundaries: role `all` with BullMQ on a real redis-server, a kv-manager and a worker each behind
 * their own real gRPC server on 127.0.0.1 (so every message is encoded and decoded as on the
 * wire), the public Inference API on a gRPC server and HTTP. The worker can be "killed" (its
 * server closed) and "restarted" on the same port with fresh memory, and Redis stopped and
 * restarted on the same port, to test recovery.
 *
 * What it is not: `llm serve --distributed` (apps/cli runs real processes); this exercises the
 * orchestrator's own distributed code paths quickly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { KvPools } from '@llm/kv';
import { loadModelDir, type LoadedModel } from '@llm/model';
import { connectGrpc, startGrpcServer, type RunningGrpcServer } from '@llm/platform';
import { inference, kv, worker } from '@llm/proto';
import { freePort, waitForPort } from '@llm/testing';
import { createOrchestrator, type Orchestrator, type OrchestratorConfig } from '../../src';
import { kvImplementation, modelDir, startTestWorker, testConfig, workerImplementation, type TestWorker } from './platform';

/** A redis-server this test owns, restartable on the same port. */
export class OwnedRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPort('127.0.0.1', this.port, 10_000);
  }
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
}

export interface DistributedHarness {
  model: LoadedModel;
  pools: KvPools;
  redis: OwnedRedis;
  orch: Orchestrator;
  grpcAddress: string;
  /** Worker steps run so far (all incarnations). */
  steps(): number;
  killWorker(): Promise<void>;
  restartWorker(): Promise<void>;
  client(): ReturnType<typeof connectGrpc<typeof inference.InferenceDefinition>>;
  close(): Promise<void>;
}

export async function startDistributedHarness(config: Partial<OrchestratorConfig> = {}): Promise<DistributedHarness> {
  const redis = new OwnedRedis(await freePort());
  await redis.start();
  const model = await loadModelDir(modelDir());
  const pools = new KvPools();
  const sweep = setInterval(() => pools.expireLeases(), 100);
  const kvServer = await startGrpcServer({ port: 0, services: [{ definition: kv.KvManagerDefinition, implementation: kvImplementation(pools) }] });
  const workerPort = await freePort();
  let numSteps = 0;
  let w: TestWorker | undefined;
  let workerServer: RunningGrpcServer | undefined;
  const startWorker = async () => {
    w = await startTestWorker(model, pools, 'worker-0', 160, 4);
    pools.reset('worker-0'); // what a restarted worker's registration does: its memory is empty
    const impl = workerImplementation(w.runner, model, 'worker-0');
    const counted = { ...impl, step: async (req: worker.StepRequest) => {
      await new Promise((r) => setTimeout(r, 15)); // a step takes time, as a real one does (longer than a cancel takes to arrive)
      numSteps++;
      return impl.step(req, {} as never);
    } };
    workerServer = await startGrpcServer({ port: workerPort, services: [{ definition: worker.WorkerDefinition, implementation: counted }] });
  };
  await startWorker();
  const kvConn = connectGrpc(kv.KvManagerDefinition, kvServer.address);
  const workerConn = connectGrpc(worker.WorkerDefinition, `127.0.0.1:${workerPort}`);
  const orch = await createOrchestrator(
    testConfig({ redisUrl: redis.url, queuePrefix: `d${process.pid}`, httpPort: 0, schedulerId: 'sched-0', leaseTtlMs: 2000, stalledIntervalMs: 500, maxNumSeqs: 32, maxNumBatchedTokens: 256, dependencyWaitMs: 8000, workerAddress: `127.0.0.1:${workerPort}`, ...config }),
    { kv: kvConn.client, worker: workerConn.client },
  );
  const api = await startGrpcServer({ port: 0, services: [{ definition: inference.InferenceDefinition, implementation: orch.inference }], readiness: orch.readiness });
  return {
    model, pools, redis, orch, grpcAddress: api.address,
    steps: () => numSteps,
    async killWorker() {
      await workerServer?.close(0);
      workerServer = undefined;
      await w?.runner.dispose();
    },
    restartWorker: startWorker,
    client: () => connectGrpc(inference.InferenceDefinition, api.address),
    async close() {
      await api.close(100);
      await orch.close();
      kvConn.close();
      workerConn.close();
      await workerServer?.close(100);
      await w?.runner.dispose();
      await kvServer.close(100);
      clearInterval(sweep);
      await redis.stop();
    },
  };
}

/** Polls until `cond` holds (bounded); resolves with the ms it took. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - t0;
}
