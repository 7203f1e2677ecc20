/**
 * Prometheus in tests: read a /metrics page (`parsePrometheusText`, `metricValue`), check it with
 * `promtool check metrics` (`promtoolCheckMetrics`), and run a real Prometheus server against
 * targets (`startPrometheus`: Debian's `prometheus` package or any prometheus binary on PATH, a
 * throw-away TSDB, 127.0.0.1 on a free port) whose HTTP API the test queries.
 *
 *   const prom = await startPrometheus({ jobs: [{ name: 'kv-manager', targets: ['127.0.0.1:9455'] }], scrapeIntervalMs: 1000 });
 *   await prom.waitFor('up == 1', (r) => r.length === 1);
 *   const [sample] = await prom.query('sum(llm_generation_tokens_total)');
 *
 * What it is not: a Prometheus client library (instant queries and target lists only).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a Prometheus text exposition (comments skipped). */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\"/g, '"').replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `labels` (0 when none). */
export function metricValue(samples: PromSample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

/** `promtool check metrics` on an exposition: ok, or its complaints. Throws when promtool is not installed. */
export function promtoolCheckMetrics(text: string): { ok: boolean; output: string } {
  const res = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (res.error) throw new Error(`promtool could not run (${res.error.message}); install it with apt-get install -y prometheus`);
  return { ok: res.status === 0, output: `${res.stdout ?? ''}${res.stderr ?? ''}`.trim() };
}

/** Whether a command is on PATH. */
export function onPath(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

export interface PrometheusJob {
  name: string;
  /** host:port of each /metrics endpoint. */
  targets: string[];
}

export interface InstantSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus {
  /** http://127.0.0.1:PORT */
  url: string;
  /** An instant query (the vector's samples; a scalar comes back as one sample without labels). */
  query(expr: string): Promise<InstantSample[]>;
  /** Polls `expr` until `predicate` holds (every 250 ms; rejects after timeoutMs with the last result). */
  waitFor(expr: string, predicate: (samples: InstantSample[]) => boolean, timeoutMs?: number): Promise<InstantSample[]>;
  /** The active targets: job, instance, health ('up' | 'down' | 'unknown'), last error. */
  targets(): Promise<{ job: string; instance: string; health: string; lastError: string }[]>;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  jobs: PrometheusJob[];
  /** Scrape interval (default 1000 ms). */
  scrapeIntervalMs?: number;
  /** The prometheus binary (default `prometheus` on PATH). */
  binary?: string;
  /** Bound on start-up (default 30 s). */
  startupTimeoutMs?: number;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-prometheus-'));
  const interval = `${options.scrapeIntervalMs ?? 1000}ms`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    'scrape_configs:',
    ...options.jobs.flatMap((j) => [`  - job_name: ${JSON.stringify(j.name)}`, '    static_configs:', `      - targets: ${JSON.stringify(j.targets)}`]),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    options.binary ?? 'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const spawnError = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`prometheus could not start (${err.message}); install it with apt-get install -y prometheus`))));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  const until = Date.now() + (options.startupTimeoutMs ?? 30_000);
  try {
    for (;;) {
      const ready = await Promise.race([fetch(`${url}/-/ready`).then((r) => r.ok, () => false), spawnError]);
      if (ready) break;
      if (child.exitCode !== null) throw new Error(`prometheus exited with code ${child.exitCode}: ${stderr}`);
      if (Date.now() > until) throw new Error(`prometheus was not ready within ${options.startupTimeoutMs ?? 30_000} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const query = async (expr: string): Promise<InstantSample[]> => {
    const data = await api<{ resultType: string; result: unknown }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (data.resultType === 'scalar') return [{ metric: {}, value: Number((data.result as [number, string])[1]) }];
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return {
    url,
    query,
    async waitFor(expr, predicate, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      let last: InstantSample[] = [];
      for (;;) {
        last = await query(expr);
        if (predicate(last)) return last;
        if (Date.now() > end) throw new Error(`prometheus: '${expr}' did not reach the expected value within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async targets() {
      const data = await api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>('/api/v1/targets');
      return data.activeTargets.map((t) => ({ job: t.labels.job, instance: t.labels.instance, health: t.health, lastError: t.lastError }));
    },
    stop,
  };
}
