/**
 * docker-compose.yml as users run it: `docker compose up` (v2) or `docker-compose up` (v1, Debian's
 * package) of the repository's file with the locally built images and a tiny Mixtral-style model,
 * then Generate over gRPC on the published 127.0.0.1 port returns the reference greedy tokens.
 * deploy/compose/no-dns.yml is layered on top (fixed addresses + /etc/hosts entries for the service
 * names), so the same name-based wiring also works on engines without embedded DNS, such as CI's
 * `dockerd --iptables=false`. `down -v` removes every container, the network and the volume.
 *
 * Needs a Docker engine (skipped without one), docker compose v2 or docker-compose v1, and the
 * images: LLM_IMAGE (default llm-platform/app:local), REDIS_IMAGE (default redis:7-alpine).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChannel, createClient, type Channel } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { initModelDir } from '@llm/model';
import { inference } from '@llm/proto';
import { freePort } from '../src';
import { referenceGreedy, TIE_TOLERANCE } from './platform-reference';

const root = join(__dirname, '..', '..', '..');
const engineUp = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 }).status === 0;
const describeCompose = engineUp ? describe : describe.skip;
if (!engineUp) process.stderr.write('platform-compose.spec: no Docker engine answers; the compose test is skipped\n');

jest.setTimeout(120_000);

const PROMPT = [17, 301, 42, 99, 5];
const NUM_GREEDY = 8;

/** `docker compose` when the v2 plugin answers, else `docker-compose` (v1); an error naming what to install. */
function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` (v2) nor `docker-compose` (v1) runs: install one (Debian: apt-get install -y docker-compose)');
}

describeCompose('docker-compose.yml', () => {
  const project = `llmcompose${process.pid}`;
  let dir: string;
  let compose: (args: string[], timeoutMs: number) => { status: number | null; out: string };
  let channel: Channel | undefined;
  let grpcPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-compose-'));
    const model = join(dir, 'model');
    initModelDir(model, 'mixtral', { seed: 3 });
    chmodSync(model, 0o755);
    grpcPort = await freePort();
    const httpPort = await freePort();
    const [bin, ...pre] = composeCommand();
    const files = ['-f', join(root, 'docker-compose.yml'), '-f', join(root, 'deploy/compose/no-dns.yml')];
    const env = { ...process.env, LLM_MODEL_DIR: model, LLM_GRPC_PORT: String(grpcPort), LLM_HTTP_PORT: String(httpPort) };
    compose = (args, timeoutMs) => {
      const res = spawnSync(bin, [...pre, '-p', project, ...files, ...args], { cwd: root, encoding: 'utf8', timeout: timeoutMs, env });
      return { status: res.status, out: `${res.stdout ?? ''}${res.stderr ?? ''}` };
    };
  });

  afterAll(() => {
    channel?.close();
    if (!compose) return;
    const down = compose(['down', '-v', '--remove-orphans', '-t', '2'], 120_000);
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(down.status).toBe(0);
    const left = spawnSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
  }, 150_000);

  it('`up` brings up Redis and the five apps, and Generate answers with the reference greedy tokens', async () => {
    const up = compose(['up', '-d'], 420_000);
    if (up.status !== 0) {
      const logs = compose(['logs', '--no-color', '--tail', '15'], 30_000).out;
      throw new Error(`compose up failed (status ${up.status}):\n${up.out}\n${logs}`);
    }
    channel = createChannel(`127.0.0.1:${grpcPort}`);
    await waitServing(channel, 120_000);
    const expected = await referenceGreedy(join(dir, 'model'), PROMPT, NUM_GREEDY);
    expect(expected.minMargin).toBeGreaterThan(TIE_TOLERANCE);
    const client = createClient(inference.InferenceDefinition, channel);
    const tokens: number[] = [];
    const stream = client.generate(
      { promptTokenIds: PROMPT, sampling: { temperature: 0, maxTokens: NUM_GREEDY, ignoreEos: true } },
      { signal: AbortSignal.timeout(60_000) },
    );
    for await (const msg of stream) tokens.push(...msg.tokenIds);
    expect(tokens).toEqual(expected.tokens);
    const ps = compose(['ps', '--services', '--filter', 'status=running'], 30_000).out.split('\n').filter((l) => l.trim() !== '');
    expect(ps.sort()).toEqual(
      ['attention-worker', 'kv-manager', 'orchestrator-api', 'orchestrator-scheduler', 'redis', 'router', 'tokenizer-service'].sort(),
    );
  }, 600_000);
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
