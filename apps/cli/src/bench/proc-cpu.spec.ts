/*
 * proc-cpu.ts: /proc stat lines parsed by hand-worked examples (a command with spaces and
 * parentheses), process names from command lines, the per-name difference of two snapshots, the
 * report line, and a real child that spins for a known time showing up with about that much CPU.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpuLine } from './report';
import { cpuBetween, cpuSnapshot, parseStat, processName, type CpuSnapshot } from './proc-cpu';

describe('proc-cpu', () => {
  it('reads ppid and utime + stime from a stat line whose command holds spaces and parentheses', () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const line = '4242 (node (a) b) S 4000 4242 4000 0 -1 4194560 9000 0 12 0 731 59 0 0 20 0 11 0 123 456';
    expect(parseStat(line)).toEqual({ ppid: 4000, ticks: 731 + 59 });
  });

  it('names processes by app (with the orchestrator role), llm serve and redis-server', () => {
    expect(processName(['/usr/bin/node', '/repo/apps/kv-manager/dist/src/main.js'], [])).toBe('kv-manager');
    expect(processName(['/usr/bin/node', '/repo/apps/orchestrator/dist/src/main.js'], ['A=1', 'LLM_ROLE=scheduler'])).toBe('orchestrator-scheduler');
    expect(processName(['/usr/bin/node', '/repo/apps/orchestrator/dist/src/main.js'], [])).toBe('orchestrator');
    expect(processName(['/usr/bin/node', '/repo/apps/cli/bin/llm.js', 'serve'], [])).toBe('llm serve');
    expect(processName(['redis-server 127.0.0.1:6390'], [])).toBe('redis-server');
    expect(processName(['/usr/bin/node', '/repo/apps/cli/dist/src/serve/tether.js', 'redis-server'], [])).toBe('tether.js');
  });

  it('sums the CPU spent between snapshots by name, leaving out processes that came or went', () => {
    const before: CpuSnapshot = new Map([[1, { name: 'llm serve', cpuS: 1 }], [2, { name: 'a', cpuS: 2 }], [3, { name: 'a', cpuS: 1 }], [4, { name: 'gone', cpuS: 5 }]]);
    const after: CpuSnapshot = new Map([[1, { name: 'llm serve', cpuS: 1.5 }], [2, { name: 'a', cpuS: 2.25 }], [3, { name: 'a', cpuS: 2 }], [5, { name: 'new', cpuS: 3 }]]);
    expect(cpuBetween(before, after)).toEqual({ 'llm serve': 0.5, a: 1.25 });
  });

  it('prints CPU ms per output token, most first, with the total', () => {
    const level = { clients: 2, outputTokens: 500, wallS: 1, ttftMs: [], itlMs: [], cpuS: { worker: 2, api: 0.25, idle: 0 } };
    expect(cpuLine(level)).toBe('         CPU ms per output token: worker 4.000, api 0.500; total 4.500');
    expect(cpuLine({ ...level, cpuS: undefined })).toBeUndefined();
  });

  (existsSync('/proc/self/stat') ? it : it.skip)('sees a child of this process spin for about as long as it spins', async () => {
    const child = spawn(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 600);'], { stdio: 'ignore' });
    const pid = child.pid as number;
    const before = cpuSnapshot(process.pid) as CpuSnapshot;
    expect(before.get(pid)).toBeDefined();
    await new Promise((r) => setTimeout(r, 450));
    const after = cpuSnapshot(process.pid) as CpuSnapshot;
    const spent = cpuBetween(before, after)[(after.get(pid) as { name: string }).name];
    await new Promise((r) => child.once('exit', r));
    expect(spent).toBeGreaterThan(0.1); // busy the whole 450 ms, less what a loaded machine took from it
    expect(spent).toBeLessThan(0.7);
  });
});
