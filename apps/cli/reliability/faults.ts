/**
 * Fault scenarios (references of 96 tokens, so streams are mid-way when the kill lands): with F streams in flight, one process is killed with SIGKILL (a service, the
 * scheduler, the api, or Redis); the Supervisor restarts it. Measured: how long until the api's
 * health reports the outage (503 or no answer), how long after the restart a new request is served
 * again, and each in-flight stream's outcome. What each fault should give (README "Faults"):
 *
 *   attention-worker, kv-manager   held by the scheduler, resumed: complete after recovery
 *   tokenizer-service              not on the request path: complete
 *   orchestrator-scheduler         re-delivered when its job locks expire, resumed: complete
 *   redis (AOF on)                 streams and queue survive: complete after recovery
 *   orchestrator (api)             the clients' connections break: explicit errors at once
 *
 * What it is not: chaos testing at random times; one fault at a time, each on a healthy platform.
 */
import { readFileSync } from 'node:fs';
import { apiHealth, pollUntil } from './measure';
import { grpcStream, grpcUnary, type Outcome } from './clients';
import { tally, type Reference } from './load';
import type { UnderTest } from './platform';
import { emptyRow, type Row } from './table';

const DEADLINE_MS = 90_000;

export interface FaultResult {
  row: Row;
  /** ms from the kill until /health reported it (undefined: never within 10 s). */
  healthMs?: number;
  /** ms from the restart until a new request succeeded (undefined: not within 30 s). */
  servedAgainMs?: number;
}

export async function fault(u: UnderTest, refs: Reference[], target: string, inFlight: number): Promise<FaultResult> {
  const row = emptyRow(`fault: kill -9 ${target}, ${inFlight} in flight`);
  row.kvBefore = await u.kvIdle();
  row.rssBefore = u.rss();
  await pollUntil(async () => (await apiHealth(u.http)) === 'ready', 30_000);
  const conn = u.connect();
  const started: number[] = new Array(inFlight).fill(0);
  const calls = Array.from({ length: inFlight }, (_, i) => refs[i % refs.length]).map((r, i) =>
    grpcStream(conn, { prompt: r.prompt, maxTokens: r.tokens.length, deadlineMs: DEADLINE_MS, expected: r.tokens, onProgress: (n) => (started[i] = n) }),
  );
  await pollUntil(() => started.every((n) => n >= 2), 30_000, 20);
  const restartsBefore = u.platform.supervisor.restarts[target] ?? 0;
  const pid = target === 'redis' ? redisPid(u) : u.platform.processes[target]?.pid;
  if (!pid) throw new Error(`no process for ${target}`);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  const healthMs = await pollUntil(async () => target === 'tokenizer-service' ? u.platform.supervisor.isDown(target) : (await apiHealth(u.http)) !== 'ready', 10_000, 50);
  await pollUntil(() => (u.platform.supervisor.restarts[target] ?? 0) > restartsBefore, 30_000, 20);
  const restartedAt = Date.now();
  const servedAgainMs = await pollUntil(async () => {
    const c = u.connect();
    try {
      return (await grpcUnary(c, { prompt: refs[0].prompt, maxTokens: 4, deadlineMs: 2000 })).kind === 'ok';
    } finally {
      c.close();
    }
  }, 30_000, 200);
  const outcomes: Outcome[] = await Promise.all(calls);
  conn.close();
  tally(row, outcomes);
  row.kvAfter = await u.kvIdle(20_000);
  row.rssAfter = u.rss();
  row.notes.push(`health saw it ${healthMs === undefined ? 'NEVER' : `${healthMs} ms`} after the kill; restarted ${restartedAt - killedAt} ms after; served again ${servedAgainMs === undefined ? 'NEVER' : `${servedAgainMs} ms`} after the restart`);
  return { row, healthMs, servedAgainMs };
}

function redisPid(u: UnderTest): number | undefined {
  // The supervisor runs redis-server under tether.js; kill the server itself, as a crash would.
  const tether = u.platform.processes.redis?.pid;
  if (!tether) return undefined;
  try {
    const children = readFileSync(`/proc/${tether}/task/${tether}/children`, 'utf8').trim().split(/\s+/);
    return Number(children[0]) || undefined;
  } catch {
    return undefined;
  }
}

