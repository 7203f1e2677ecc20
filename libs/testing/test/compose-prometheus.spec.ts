/**
 * docker-compose.yml's `prometheus` profile as a platform team runs it: `up -d --profile
 * prometheus` of the repository's file (the locally built app and Prometheus images; the scrape
 * configuration the repository ships, with its interval set to 1 s for a short test), a fixed load
 * over the published HTTP port once the orchestrator's /health/ready answers 200 there (every
 * metrics target being up is not enough: an app serves /metrics before its API, and Docker's proxy
 * accepts on a published port before the container listens, so an early request fails), then
 * Prometheus's HTTP API on its published port: every service's target is up, the TTFT count equals
 * the requests sent, the generated tokens equal what the clients received, the KV usage was above
 * 0 during the load and is 0 at idle.
 *
 * deploy/compose/no-dns.yml is layered on top (CI's engine has no embedded DNS). Needs a Docker
 * engine (skipped without one; CI always has one), docker compose v2 or docker-compose v1, and the
 * images LLM_IMAGE, REDIS_IMAGE and PROMETHEUS_IMAGE (deploy/images/build-*-image.sh).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttpReady } from '../src';

const root = join(__dirname, '..', '..', '..');
const engineUp = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 }).status === 0;
const describeCompose = engineUp ? describe : describe.skip;
if (!engineUp) {
  if (process.env.CI) throw new Error('compose-prometheus.spec: CI is set but no Docker engine answers (.ci/run starts one)');
  process.stderr.write('compose-prometheus.spec: no Docker engine answers; the test is skipped\n');
}

jest.setTimeout(600_000);

const CLIENTS = 4;
const PER_CLIENT = 3;
const MAX_TOKENS = 200;

function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` (v2) nor `docker-compose` (v1) runs: install one (Debian: apt-get install -y docker-compose)');
}

describeCompose('docker-compose --profile prometheus', () => {
  const name = `llm-prom-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'llm-compose-prom-'));
  let compose: (args: string[], timeoutMs: number) => { status: number | null; out: string };
  let http = '';
  let prom = '';

  beforeAll(async () => {
    const [httpPort, grpcPort, promPort] = [await freePort(), await freePort(), await freePort()];
    // The shipped scrape configuration, at a 1 s interval.
    const shipped = readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8');
    writeFileSync(join(dir, 'prometheus.yml'), shipped.replace(/scrape_interval: \S+/, 'scrape_interval: 1s').replace(/scrape_timeout: \S+/, 'scrape_timeout: 1s'));
    writeFileSync(join(dir, 'fast-scrape.yml'), `services:\n  prometheus:\n    volumes:\n      - ${join(dir, 'prometheus.yml')}:/etc/prometheus/prometheus.yml:ro\n`);
    const [bin, ...pre] = composeCommand();
    const files = ['-f', join(root, 'docker-compose.yml'), '-f', join(root, 'deploy/compose/no-dns.yml'), '-f', join(dir, 'fast-scrape.yml')];
    const env = {
      ...process.env, LLM_HTTP_PORT: String(httpPort), LLM_GRPC_PORT: String(grpcPort), LLM_PROMETHEUS_PORT: String(promPort),
      LLM_IMAGE: process.env.LLM_IMAGE ?? 'llm-platform/app:local', PROMETHEUS_IMAGE: process.env.PROMETHEUS_IMAGE ?? 'llm-platform/prometheus:local',
    };
    compose = (args, timeoutMs) => {
      const res = spawnSync(bin, [...pre, '-p', name, ...files, '--profile', 'prometheus', ...args], { cwd: root, encoding: 'utf8', timeout: timeoutMs, env });
      return { status: res.status, out: `${res.stdout ?? ''}${res.stderr ?? ''}` };
    };
    const up = compose(['up', '-d'], 480_000);
    if (up.status !== 0) throw new Error(`compose up failed (status ${up.status}):\n${up.out}\n${compose(['logs', '--no-color', '--tail', '15'], 30_000).out}`);
    http = `http://127.0.0.1:${httpPort}`;
    prom = `http://127.0.0.1:${promPort}`;
  });

  afterAll(() => {
    compose?.(['down', '-v', '--remove-orphans'], 180_000);
    rmSync(dir, { recursive: true, force: true });
  });

  async function query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]> {
    const res = (await (await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (res.status !== 'success') throw new Error(`query ${expr} failed`);
    return res.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  async function waitFor(expr: string, ok: (v: { metric: Record<string, string>; value: number }[]) => boolean, timeoutMs = 60_000) {
    const until = Date.now() + timeoutMs;
    let last: { metric: Record<string, string>; value: number }[] = [];
    for (;;) {
      last = await query(expr).catch(() => []);
      if (ok(last)) return last;
      if (Date.now() > until) throw new Error(`'${expr}' never held (last: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('scrapes every service; TTFT count, generated tokens and KV usage match the load', async () => {
    const jobs = ['attention-worker', 'kv-manager', 'orchestrator-api', 'orchestrator-scheduler', 'router', 'tokenizer-service'];
    await waitFor('up', (r) => r.length === jobs.length && r.every((s) => s.value === 1), 120_000);
    expect((await query('up')).map((s) => s.metric.job).sort()).toEqual(jobs);
    await waitForHttpReady(http, { timeoutMs: 120_000 });
    let sent = 0;
    let received = 0;
    let done = false;
    const load = Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < PER_CLIENT; i++) {
          const res = await fetch(`${http}/v1/completions`, {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'default', prompt: `${c}${i}+48=`, max_tokens: MAX_TOKENS, temperature: 0, ignore_eos: true }),
          });
          expect(res.status).toBe(200);
          sent++;
          received += ((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
        }
      }),
    ).then(() => (done = true));
    await waitFor('max(llm_kv_cache_usage_perc)', (r) => {
      if (done && !(r[0]?.value > 0)) throw new Error('the load ended before Prometheus scraped a KV usage above 0');
      return r[0]?.value > 0;
    }, 240_000);
    await load;
    expect(received).toBe(CLIENTS * PER_CLIENT * MAX_TOKENS);
    await waitFor('sum(llm_time_to_first_token_seconds_count)', (r) => r[0]?.value === sent);
    await waitFor('sum(llm_generation_tokens_total)', (r) => r[0]?.value === received);
    await waitFor('max(llm_kv_cache_usage_perc)', (r) => r[0]?.value === 0);
    expect((await query('sum(llm_time_to_first_token_seconds_count{job="orchestrator-api"})'))[0].value).toBe(sent);
    expect(await query('llm_num_requests_running{job="orchestrator-api"}')).toEqual([]);
  });
});
