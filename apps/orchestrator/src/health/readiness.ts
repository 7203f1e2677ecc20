/*
 * The orchestrator's readiness checks, by role (ARCHITECTURE.md's roles; health in libs/platform):
 *
 *   api        Redis answers PING, and some scheduler holds a live worker lease (the sorted set of
 *              live schedulers has an entry that has not expired)
 *   scheduler  its worker answers GetModelInfo, its kv-manager answers Stats for the worker's pool
 *              (NOT_FOUND: the pool is not registered, say after a kv-manager restart), and it
 *              holds the worker's lease
 *   all        both (with Redis); embedded mode (no Redis) has no checks: it is ready when it runs
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

/** The checks for this role, with the Redis connection they use (the caller closes it). */
export function orchestratorReadiness(d: ReadinessDeps): { readiness: Readiness; close(): void } {
  const checks: ReadinessCheck[] = [];
  let redis: IORedis | undefined;
  if (d.redisUrl && d.role !== 'scheduler') {
    const conn = new IORedis(d.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
    watchRedis(conn, d.redisUrl);
    redis = conn;
    checks.push({ name: 'redis', check: async () => void (await conn.ping()) });
    checks.push({
      name: 'scheduler',
      check: async () => {
        if ((await conn.zcount(schedulersKey(d.prefix), Date.now(), '+inf')) === 0) throw new Error('no scheduler holds a live worker lease');
      },
    });
  }
  if (d.redisUrl && d.role !== 'api') {
    checks.push({ name: `worker ${d.workerAddress}`, check: async () => void (await d.worker.getModelInfo({}, { deadline: CHECK_DEADLINE_MS } as never)) });
    checks.push({ name: `kv-manager ${d.kvManagerAddress}`, check: async () => void (await d.kv.stats({ poolId: d.poolId }, { deadline: CHECK_DEADLINE_MS } as never)) });
    if (d.leaseProblem) {
      const problem = d.leaseProblem;
      checks.push({
        name: 'worker lease',
        check: async () => {
          const p = problem();
          if (p) throw new Error(p);
        },
      });
    }
  }
  return { readiness: new Readiness(checks, { component: `orchestrator-${d.role}` }), close: () => redis?.disconnect() };
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
