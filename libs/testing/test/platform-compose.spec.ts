/**
 * docker-compose.yml as users run it: `docker compose up` (v2) or `docker-compose up` (v1, Debian's
 * package) of the repository's file with the locally built images, nothing else changed:
 *
 * 1. the shipped model (./models/default, a dense llama): the README's curl (its JSON body read
 *    from README.md) on the published HTTP port answers "580"; `down -v` leaves no container;
 * 2. a Mixtral-style MoE model by changing only LLM_MODEL_DIR, with an API key from an env file
 *    (--env-file): no key is refused with 401 over HTTP and UNAUTHENTICATED over gRPC, and with the
 *    key Generate returns the reference transformer's greedy tokens.
 *
 * deploy/compose/no-dns.yml is layered on top (fixed addresses + /etc/hosts entries), so the same
 * name-based wiring works on engines without embedded DNS, such as CI's `dockerd --iptables=false`.
 * Needs a Docker engine (skipped without one; CI always has one), docker compose v2 or
 * docker-compose v1, and the images: LLM_IMAGE (default llm-platform/app:local), REDIS_IMAGE
 * (default redis:7-alpine).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, Metadata, Status, createChannel, createClient, type Channel } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { initModelDir } from '@llm/model';
import { inference } from '@llm/proto';
import { freePort } from '../src';
import { referenceGreedy, TIE_TOLERANCE } from './platform-reference';

const root = join(__dirname, '..', '..', '..');
const engineUp = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 }).status === 0;
const describeCompose = engineUp ? describe : describe.skip;
if (!engineUp) {
  if (process.env.CI) throw new Error('platform-compose.spec: CI is set but no Docker engine answers (.ci/run starts one)');
  process.stderr.write('platform-compose.spec: no Docker engine answers; the compose test is skipped\n');
}

jest.setTimeout(120_000);

const PROMPT = [17, 301, 42, 99, 5];
const NUM_GREEDY = 8;
const API_KEY = `sk-compose-${process.pid}`;

/** `docker compose` when the v2 plugin answers, else `docker-compose` (v1); an error naming what to install. */
function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` (v2) nor `docker-compose` (v1) runs: install one (Debian: apt-get install -y docker-compose)');
}

/** The JSON body of the README's curl example and the answer it promises. */
function readmeCurl(): { body: Record<string, unknown>; answer: string } {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /curl -s http:\/\/127\.0\.0\.1:8080\/v1\/completions[^\n]*\\\n\s*-d '([^']+)'\s*# -> "(\d+)"/.exec(readme);
  if (!m) throw new Error("README.md has no `curl ... -d '{...}'   # -> \"...\"` example");
  return { body: JSON.parse(m[1]) as Record<string, unknown>, answer: m[2] };
}

type Compose = (args: string[], timeoutMs: number) => { status: number | null; out: string };

/** A compose project on random published ports; `extra` are environment settings (LLM_MODEL_DIR, ...). */
async function project(name: string, extra: Record<string, string>, envFile?: string): Promise<{ compose: Compose; grpcPort: number; httpPort: number }> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const [bin, ...pre] = composeCommand();
  const files = ['-f', join(root, 'docker-compose.yml'), '-f', join(root, 'deploy/compose/no-dns.yml')];
  const env = { ...process.env, ...extra, LLM_GRPC_PORT: String(grpcPort), LLM_HTTP_PORT: String(httpPort) };
  const compose: Compose = (args, timeoutMs) => {
    const res = spawnSync(bin, [...pre, '-p', name, ...(envFile ? ['--env-file', envFile] : []), ...files, ...args], { cwd: root, encoding: 'utf8', timeout: timeoutMs, env });
    return { status: res.status, out: `${res.stdout ?? ''}${res.stderr ?? ''}` };
  };
  return { compose, grpcPort, httpPort };
}

function up(compose: Compose): void {
  const res = compose(['up', '-d'], 420_000);
  if (res.status !== 0) {
    const logs = compose(['logs', '--no-color', '--tail', '15'], 30_000).out;
    throw new Error(`compose up failed (status ${res.status}):\n${res.out}\n${logs}`);
  }
}

/** `down -v`, then no container of the project is left. */
function downLeavesNothing(compose: Compose, name: string): void {
  const down = compose(['down', '-v', '--remove-orphans', '-t', '2'], 120_000);
  expect(down.status).toBe(0);
  const left = spawnSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${name}`], { encoding: 'utf8' }).stdout.trim();
  expect(left).toBe('');
}

const RUNNING = ['attention-worker', 'kv-manager', 'orchestrator-api', 'orchestrator-scheduler', 'redis', 'router', 'tokenizer-service'].sort();

describeCompose('docker-compose.yml', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'llm-compose-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('with the repository unchanged (the shipped models/default)', () => {
    const name = `llmcompose${process.pid}a`;
    let p: Awaited<ReturnType<typeof project>>;
    let downDone = false;
    afterAll(() => {
      if (p && !downDone) p.compose(['down', '-v', '--remove-orphans', '-t', '2'], 120_000);
    }, 150_000);

    it("`up` serves the shipped model; the README's curl answers 580; `down -v` leaves no container", async () => {
      p = await project(name, {});
      up(p.compose);
      const channel = createChannel(`127.0.0.1:${p.grpcPort}`);
      try {
        await waitServing(channel, 120_000);
      } finally {
        channel.close();
      }
      const { body, answer } = readmeCurl();
      expect(answer).toBe('580');
      const res = await fetch(`http://127.0.0.1:${p.httpPort}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      const json = (await res.json()) as { model: string; choices: Array<{ text: string }> };
      expect(json.model).toBe('default');
      expect(json.choices[0].text).toBe(answer);
      const ps = p.compose(['ps', '--services', '--filter', 'status=running'], 30_000).out.split('\n').filter((l) => l.trim() !== '');
      expect(ps.sort()).toEqual(RUNNING); // the router runs too: idle (dense model) but healthy
      const logs = p.compose(['logs', '--no-color', 'router', 'secrets'], 30_000).out;
      expect(logs).toMatch(/router: default is dense \(LlamaForCausalLM\): idle, healthy/);
      expect(logs).toMatch(/init-secrets: Redis password generated/);
      downLeavesNothing(p.compose, name);
      downDone = true;
    }, 600_000);
  });

  describe('a MoE model by changing only LLM_MODEL_DIR, with an API key from an env file', () => {
    const name = `llmcompose${process.pid}b`;
    let p: Awaited<ReturnType<typeof project>>;
    let channel: Channel | undefined;
    afterAll(() => {
      channel?.close();
      if (p) downLeavesNothing(p.compose, name);
    }, 150_000);

    it('`up` serves the Mixtral model: keys enforced, Generate equals the reference greedy tokens', async () => {
      const model = join(dir, 'model');
      initModelDir(model, 'mixtral', { seed: 3 });
      chmodSync(model, 0o755);
      const envFile = join(dir, 'compose.env');
      writeFileSync(envFile, `# compose settings\nLLM_API_KEY=${API_KEY}\n`);
      p = await project(name, { LLM_MODEL_DIR: model }, envFile);
      up(p.compose);
      channel = createChannel(`127.0.0.1:${p.grpcPort}`);
      await waitServing(channel, 120_000);
      const client = createClient(inference.InferenceDefinition, channel);
      const request = { promptTokenIds: PROMPT, sampling: { temperature: 0, maxTokens: NUM_GREEDY, ignoreEos: true } };

      const noKey = await client.complete(request).catch((e: unknown) => e);
      expect(noKey).toBeInstanceOf(ClientError);
      expect((noKey as ClientError).code).toBe(Status.UNAUTHENTICATED);
      const http = await fetch(`http://127.0.0.1:${p.httpPort}/v1/models`);
      expect(http.status).toBe(401);
      const keyed = await fetch(`http://127.0.0.1:${p.httpPort}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}` } });
      expect(keyed.status).toBe(200);

      const expected = await referenceGreedy(model, PROMPT, NUM_GREEDY);
      expect(expected.minMargin).toBeGreaterThan(TIE_TOLERANCE);
      const tokens: number[] = [];
      const stream = client.generate(request, { metadata: Metadata({ authorization: `Bearer ${API_KEY}` }), signal: AbortSignal.timeout(60_000) });
      for await (const msg of stream) tokens.push(...msg.tokenIds);
      expect(tokens).toEqual(expected.tokens);
      const ps = p.compose(['ps', '--services', '--filter', 'status=running'], 30_000).out.split('\n').filter((l) => l.trim() !== '');
      expect(ps.sort()).toEqual(RUNNING);
    }, 600_000);
  });
});

/** Polls grpc.health.v1 Check until SERVING (bounded). */
async function waitServing(channel: Channel, timeoutMs: number): Promise<void> {
  const health = createClient(HealthDefinition, channel);
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const res = await health.check({ service: '' }, { signal: AbortSignal.timeout(3_000) });
      if (res.status === 1) return; // SERVING
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error(`the orchestrator on the published gRPC port did not become SERVING within ${timeoutMs} ms (${last})`);
}
