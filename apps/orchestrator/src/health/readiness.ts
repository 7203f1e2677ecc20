/*
 * The orchestrator's readiness checks, by role (ARCHITECTURE.md's roles; health in libs/platform):
 *
 *   api        Redis answers PING, and some scheduler is live: it holds a worker lease and its own
 *              readiness holds (an unexpired entry in the sorted set of live schedulers)
 *   scheduler  its worker answers GetModelInfo, its kv-manager answers Stats for the worker's pool
 *              (NOT_FOUND: the pool is not registered, say after a kv-manager restart), and it
 *              holds the worker's lease; while it does not, it takes itself out of the live set,
 *              so every api reports the outage too
 *   all        the api's checks (its own scheduler counts through the live set); embedded mode
 *              (no Redis) has no checks: it is ready when it runs
 *
 * Also `outageTracker`: since when readiness has been failing, for the intake's bounded waits.
 * What it is not: the probe endpoints (gRPC health in libs/platform, HTTP /health in http/).
 */
import IORedis from 'ioredis';
import { Readiness, watchRedis, type Client, type ReadinessCheck } from '@llm/platform';
import type { kv, worker } from '@llm/proto';
import { schedulersKey } from '../intake/redis-keys';

export interface ReadinessDeps {
  role: 'all' | 'api' | 'scheduler';
  redisUrl: string;
  prefix: string;
  poolId: string;
  kv: Pick<Client<kv.KvManagerDefinition>, 'stats'>;
  worker: Pick<Client<worker.WorkerDefinition>, 'getModelInfo'>;
  workerAddress: string;
  kvManagerAddress: string;
  /** Why the scheduler does not consume yet (waiting for or lost its worker lease); undefined once it holds it. */
  leaseProblem?: () => string | undefined;
}

const CHECK_DEADLINE_MS = 1000;

/**
 * The readiness of this process, and for the scheduler part (roles scheduler and all) its own
 * readiness: whether the api should count this scheduler as live.
 */
export function orchestratorReadiness(d: ReadinessDeps): { readiness: Readiness; scheduler?: Readiness; close(): void } {
  let scheduler: Readiness | undefined;
  if (d.role !== 'api') {
    const checks: ReadinessCheck[] = [
      { name: `worker ${d.workerAddress}`, check: async () => void (await d.worker.getModelInfo({}, { deadline: CHECK_DEADLINE_MS } as never)) },
      { name: `kv-manager ${d.kvManagerAddress}`, check: async () => void (await d.kv.stats({ poolId: d.poolId }, { deadline: CHECK_DEADLINE_MS } as never)) },
    ];
    const problem = d.leaseProblem;
    if (problem) {
      checks.push({
        name: 'worker lease',
        check: async () => {
          const p = problem();
          if (p) throw new Error(p);
        },
      });
    }
    scheduler = new Readiness(checks, { component: 'orchestrator-scheduler' });
  }
  if (d.role === 'scheduler') return { readiness: scheduler!, scheduler, close: () => undefined };
  const conn = new IORedis(d.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  watchRedis(conn, d.redisUrl);
  const connected = () => {
    if (conn.status !== 'ready') throw new Error(`not connected (${conn.status})`);
  };
  const checks: ReadinessCheck[] = [
    { name: 'redis', check: async () => (connected(), void (await conn.ping())) },
    {
      name: 'scheduler',
      check: async () => {
        connected();
        if ((await conn.zcount(schedulersKey(d.prefix), Date.now(), '+inf')) === 0) throw new Error('no scheduler is live (none holds a worker lease with its worker and kv-manager answering)');
      },
    },
  ];
  const readiness = new Readiness(checks, { component: `orchestrator-${d.role}` });
  // Redis going away or coming back is known at once from the connection: re-check then, not at the next poll.
  conn.on('reconnecting', () => void readiness.poll());
  conn.on('ready', () => void readiness.poll());
  return { readiness, scheduler, close: () => conn.disconnect() };
}

/** Since when readiness has been failing, and why; undefined while ready. */
export function outageTracker(readiness: Readiness): () => { since: number; reason: string } | undefined {
  let since: number | undefined;
  readiness.onChange((s) => {
    if (s.ready) since = undefined;
    else since ??= Date.now();
  });
  return () => {
    const s = readiness.state;
    return s.ready || since === undefined ? undefined : { since, reason: s.reason ?? 'a dependency is down' };
  };
}
