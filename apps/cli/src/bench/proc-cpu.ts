/*
 * CPU time per process of a served platform during a load level, from Linux's /proc: the `llm serve`
 * process and every process under it (distributed: each app, Redis), by name (the app, with the
 * orchestrator's role: orchestrator-api, orchestrator-scheduler). utime + stime of each process (all
 * its threads) in seconds. On a machine shared with other work, wall-clock rates move with the load
 * while the CPU one token costs each process moves much less, which is what this is for: the end to
 * end table prints it as CPU ms per output token beside the rates.
 * What it is not: portable (without /proc there is no snapshot and the table leaves the line out) or
 * a profiler (which function costs it: run the apps with --cpu-prof).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ). */
let ticksPerS: number | undefined;
function clockTicks(): number {
  if (ticksPerS === undefined) {
    try {
      ticksPerS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerS = 100;
    }
  }
  return ticksPerS;
}

/** ppid and utime + stime (ticks) from a /proc/<pid>/stat line; the command may hold spaces and parentheses. */
export function parseStat(line: string): { ppid: number; ticks: number } {
  const rest = line.slice(line.lastIndexOf(')') + 2).split(' '); // rest[0] = state (field 3)
  return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

/** A process's name for the table, from its command line and (for the orchestrator) its LLM_ROLE. */
export function processName(argv: string[], env: string[]): string {
  const entry = argv.find((a) => /\/apps\/[^/]+\/dist\/src\/main\.js$/.test(a));
  if (entry) {
    const app = /\/apps\/([^/]+)\//.exec(entry)?.[1] ?? 'app';
    const role = env.find((e) => e.startsWith('LLM_ROLE='))?.slice('LLM_ROLE='.length);
    return app === 'orchestrator' && role ? `orchestrator-${role}` : app;
  }
  if (argv.some((a) => a.endsWith('/bin/llm.js'))) return 'llm serve';
  const exe = (argv[0] ?? '').split('/').pop() ?? '';
  if (exe.startsWith('redis-server')) return 'redis-server';
  return (argv[1] ?? exe).split('/').pop() || '?';
}

export type CpuSnapshot = Map<number, { name: string; cpuS: number }>;

/** CPU seconds so far of `rootPid` and its descendants; undefined where /proc cannot be read. */
export function cpuSnapshot(rootPid: number): CpuSnapshot | undefined {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return undefined;
  }
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const pid of pids) {
    try {
      stats.set(pid, parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')));
    } catch {
      // gone meanwhile
    }
  }
  if (!stats.has(rootPid)) return undefined;
  const kids = new Map<number, number[]>();
  for (const [pid, s] of stats) kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), pid]);
  const out: CpuSnapshot = new Map();
  const hz = clockTicks();
  const visit = (pid: number) => {
    const read = (f: string) => {
      try {
        return readFileSync(`/proc/${pid}/${f}`, 'utf8').split('\0').filter(Boolean);
      } catch {
        return [];
      }
    };
    out.set(pid, { name: processName(read('cmdline'), read('environ')), cpuS: (stats.get(pid) as { ticks: number }).ticks / hz });
    for (const k of kids.get(pid) ?? []) visit(k);
  };
  visit(rootPid);
  return out;
}

/** CPU seconds each process (by name, summed) spent between two snapshots; processes in only one of them are left out. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, a] of after) {
    const b = before.get(pid);
    if (!b || b.name !== a.name) continue;
    out[a.name] = (out[a.name] ?? 0) + Math.max(0, a.cpuS - b.cpuS);
  }
  return out;
}
