/**
 * Supervisor: the children of `llm serve --distributed`, kept running as Kubernetes would keep a
 * pod's containers running. A child that exits on its own is restarted with exponential backoff
 * (0.5 s doubling to 10 s; the count resets after it ran 30 s), with one log line per restart.
 * Every child gets an IPC channel, so it notices when this process is gone (node apps stop
 * themselves; other programs run under tether.js), and no child outlives the parent.
 *
 * stopAll stops the children in the order given (each SIGTERM, SIGKILL after its grace), so the
 * api can drain before what it depends on stops; killAll is the second Ctrl-C: SIGKILL at once.
 *
 * A restarted child serves the ports its first run reported (pin: its dependents hold that address).
 * While it is down, this process holds those ports itself (listening sockets that refuse every
 * connection, libs/platform's reservePort) and frees them right before the restart, so an outgoing
 * connection cannot take one as its local port during the backoff; the restarted child reserves
 * them again from its first line.
 *
 * What it is not: the platform's wiring (distributed.ts says what runs with which settings).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { releasePort, reservePort } from '@llm/platform';

export interface ChildSpec {
  /** The executable and its arguments (node apps: process.execPath, [main.js]). */
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Ports held by this process while the child is down, between its exit and its restart. */
  holdWhileDown?: { host: string; ports: number[] };
}

export interface SupervisorOptions {
  /** One line per event (restart, exit during stop). */
  say: (line: string) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A child that ran this long is healthy again: its next crash restarts after the initial backoff. */
  resetAfterMs?: number;
}

interface Managed {
  spec: ChildSpec;
  child: ChildProcess;
  startedAt: number;
  restarts: number;
  /** Consecutive crashes (for the backoff). */
  crashes: number;
  timer?: NodeJS.Timeout;
  /** The reservations of spec.holdWhileDown while the child is down. */
  held?: Promise<unknown>;
}

export class Supervisor {
  private readonly children = new Map<string, Managed>();
  private stopping = false;
  /** Restarts so far (new processes started), per child. */
  readonly restarts: Record<string, number> = {};

  constructor(private readonly opts: SupervisorOptions) {}

  /** Starts `name` and keeps it running. */
  start(name: string, spec: ChildSpec): ChildProcess {
    const m: Managed = { spec, child: this.spawn(spec), startedAt: Date.now(), restarts: 0, crashes: 0 };
    this.children.set(name, m);
    this.restarts[name] = 0;
    this.watch(name, m);
    return m.child;
  }

  /** The running process of `name` (a restart replaces it). */
  current(name: string): ChildProcess | undefined {
    return this.children.get(name)?.child;
  }

  /** From now on, restarts of `name` run with these environment entries added, and hold these ports while it is down. */
  pin(name: string, env: Record<string, string>, holdWhileDown?: ChildSpec['holdWhileDown']): void {
    const m = this.children.get(name);
    if (!m) throw new Error(`no child named ${name}`);
    m.spec = { ...m.spec, env: { ...m.spec.env, ...env }, holdWhileDown };
  }

  names(): string[] {
    return [...this.children.keys()];
  }

  private spawn(spec: ChildSpec): ChildProcess {
    // Own process group: a terminal's Ctrl-C reaches only `llm serve`, which stops the children in order.
    const child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    child.on('error', () => undefined); // reported through 'exit'
    return child;
  }

  private watch(name: string, m: Managed): void {
    m.child.once('exit', (code, signal) => {
      if (this.stopping || this.children.get(name) !== m) return;
      const ranMs = Date.now() - m.startedAt;
      if (ranMs > (this.opts.resetAfterMs ?? 30_000)) m.crashes = 0;
      const delay = Math.min(this.opts.maxBackoffMs ?? 10_000, (this.opts.initialBackoffMs ?? 500) * 2 ** m.crashes);
      m.crashes++;
      m.restarts++;
      const hold = m.spec.holdWhileDown;
      m.held = hold ? Promise.all(hold.ports.map((p) => reservePort(hold.host, p).catch(() => undefined))) : undefined;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      this.opts.say(`${name} exited (${how}); restarting in ${(delay / 1000).toFixed(1)} s (restart ${m.restarts})`);
      m.timer = setTimeout(() => void this.restart(name, m), delay);
    });
  }

  private async restart(name: string, m: Managed): Promise<void> {
    await this.release(m); // the new process binds these ports itself
    if (this.stopping) return;
    m.child = this.spawn(m.spec);
    m.startedAt = Date.now();
    this.restarts[name] = m.restarts; // counted once the new process runs
    this.watch(name, m);
  }

  /** Frees the ports held while `m` was down. */
  private async release(m: Managed): Promise<void> {
    const held = m.held;
    const hold = m.spec.holdWhileDown;
    m.held = undefined;
    if (!held || !hold) return;
    await held;
    await Promise.all(hold.ports.map((p) => releasePort(hold.host, p)));
  }

  /** Whether `name` exited and has not been restarted yet. */
  isDown(name: string): boolean {
    const c = this.children.get(name)?.child;
    return !c || c.exitCode !== null || c.signalCode !== null;
  }

  /** Graceful stop in this order; each child gets `graceMs` after SIGTERM before SIGKILL. */
  async stopAll(order: string[], graceMs: (name: string) => number): Promise<void> {
    this.stopping = true;
    const rest = [...this.children.keys()].filter((n) => !order.includes(n));
    for (const name of [...order, ...rest]) {
      const m = this.children.get(name);
      if (!m) continue;
      clearTimeout(m.timer);
      await this.release(m);
      await stopChild(m.child, graceMs(name));
    }
  }

  /** Second signal: SIGKILL every child, and whatever it started, now. */
  killAll(): void {
    this.stopping = true;
    for (const m of this.children.values()) {
      clearTimeout(m.timer);
      void this.release(m);
      if (m.child.exitCode === null && m.child.signalCode === null) killGroup(m.child);
    }
  }
}

/** SIGKILL to the child's process group (it leads one: spawned detached), so a program it runs (tether.js's redis-server) goes too. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => killGroup(child), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
