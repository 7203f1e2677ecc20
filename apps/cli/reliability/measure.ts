/**
 * What the reliability suite measures around each scenario: KV blocks in use at the kv-manager
 * (and sequences it holds), resident memory of every platform process (from /proc), CPU time of a
 * process, and health as a client sees it (the api's GET /health).
 *
 * What it is not: a metrics system; these are point readings for the table.
 */
import { readFileSync } from 'node:fs';
import { connectGrpc } from '@llm/platform';
import { kv } from '@llm/proto';

export interface KvReading {
  usedBlocks: number;
  sequences: number;
}

export async function kvReading(address: string, poolId = 'worker-0'): Promise<KvReading> {
  const conn = connectGrpc(kv.KvManagerDefinition, address);
  try {
    const s = await conn.client.stats({ poolId }, { deadline: 3000 });
    return { usedBlocks: s.numUsedBlocks, sequences: s.numSequences };
  } finally {
    conn.close();
  }
}

/** Resident set size of a process in MB (0 when it is gone). */
export function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/**
 * RSS per process after a run, once garbage had a chance to go: the lowest reading of each process
 * over `ms` of idle time (V8 collects when allocation stops), beside the reading right after the run.
 * Memory still held after the idle window is what counts as growth; a heap awaiting its next
 * collection is not a leak.
 */
export async function settledRss(read: () => Record<string, number>, ms = 8000): Promise<{ settled: Record<string, number>; immediate: Record<string, number> }> {
  const immediate = read();
  const settled = { ...immediate };
  for (let t = 0; t < ms; t += 500) {
    await new Promise((r) => setTimeout(r, 500));
    for (const [p, v] of Object.entries(read())) if (v > 0) settled[p] = Math.min(settled[p] ?? v, v);
  }
  return { settled, immediate };
}

/** User + system CPU time of a process in ms. */
export function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return 0;
  }
}

/** The api's readiness as a client sees it: 'ready', 'not ready' (503) or 'down' (no answer). */
export async function apiHealth(http: string): Promise<'ready' | 'not ready' | 'down'> {
  try {
    const res = await fetch(`http://${http}/health`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200 ? 'ready' : 'not ready';
  } catch {
    return 'down';
  }
}

export async function pollUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await cond()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return undefined;
}
