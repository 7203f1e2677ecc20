/**
 * The distributed platform in containers (startPlatform): Redis and the five apps from the app
 * image, Generate over gRPC on 127.0.0.1 returns the reference transformer's greedy tokens (compared
 * only where the reference's top-2 logit gap clears the numerical tolerance), the HTTP front
 * answers, and a worker container stopped mid-stream ends the request with UNAVAILABLE instead of a
 * hang. Every container and the network are removed afterwards.
 *
 * The tokenizer-service runs with its ephemeral port range narrowed to 50052-50059, around its gRPC
 * port: connect() takes even ports first, so its Redis connections (made before its gRPC bind) would
 * hold 50052 and its bind would fail with "already in use" (a CI flake, rare with the full range),
 * unless startPlatform keeps the container's listening ports out of that range, as it must.
 *
 * Needs a Docker engine (skipped without one) and the app image: LLM_IMAGE (default
 * llm-platform/app:local, built by deploy/images/build-app-image.sh); REDIS_IMAGE where no registry
 * is reachable (deploy/images/build-redis-image.sh).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, Status, createChannel, createClient, type Channel, type Client } from 'nice-grpc';
import { initModelDir } from '@llm/model';
import { inference } from '@llm/proto';
import { startPlatform, type StartedPlatform } from '../src';
import { referenceGreedy, TIE_TOLERANCE } from './platform-reference';

const engineUp = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 }).status === 0;
const describeContainers = engineUp ? describe : describe.skip;
if (!engineUp) process.stderr.write('platform.spec: no Docker engine answers; the container tests are skipped\n');

jest.setTimeout(120_000);

const PROMPT = [17, 301, 42, 99, 5];
const NUM_GREEDY = 8;
const TOKENIZER_PORT = 50052;

describeContainers('startPlatform: the distributed platform in containers', () => {
  let dir: string;
  let platform: StartedPlatform | undefined;
  let channel: Channel;
  let client: Client<inference.InferenceDefinition>;
  let expected: { tokens: number[]; minMargin: number };
  let containerIds: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-platform-'));
    const model = join(dir, 'model');
    initModelDir(model, 'mixtral', { seed: 3 });
    chmodSync(model, 0o755);
    expected = await referenceGreedy(model, PROMPT, NUM_GREEDY);
    platform = await startPlatform({
      model,
      sysctls: { 'tokenizer-service': { 'net.ipv4.ip_local_port_range': `${TOKENIZER_PORT} ${TOKENIZER_PORT + 7}` } },
      onProgress: (l) => process.stderr.write(`[platform] ${l}\n`),
    });
    containerIds = Object.values(platform.containers).map((c) => c.getId());
    channel = createChannel(platform.grpcAddress);
    client = createClient(inference.InferenceDefinition, channel);
  }, 360_000);

  afterAll(async () => {
    channel?.close();
    await platform?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    const all = spawnSync('docker', ['ps', '-aq', '--no-trunc'], { encoding: 'utf8' }).stdout.split('\n');
    expect(containerIds.filter((id) => all.includes(id))).toEqual([]); // every container of this run is removed
  }, 60_000);

  it('runs every service: Redis, kv-manager, tokenizer-service, router, attention-worker, both orchestrator roles', () => {
    expect(Object.keys(platform?.containers ?? {}).sort()).toEqual(
      ['attention-worker', 'kv-manager', 'orchestrator-api', 'orchestrator-scheduler', 'redis', 'router', 'tokenizer-service'].sort(),
    );
    expect(platform?.grpcAddress).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("keeps each app's listening ports out of its ephemeral range (the tokenizer-service's narrowed range included)", async () => {
    const p = platform as StartedPlatform;
    const read = async (service: 'tokenizer-service' | 'orchestrator-api', key: string) => {
      const res = await p.containers[service]!.exec(['node', '-e', `process.stdout.write(require('fs').readFileSync('/proc/sys/net/ipv4/${key}', 'utf8'))`]);
      expect(res.exitCode).toBe(0);
      return res.output.trim();
    };
    expect((await read('tokenizer-service', 'ip_local_port_range')).split(/\s+/).map(Number)).toEqual([TOKENIZER_PORT, TOKENIZER_PORT + 7]);
    expect((await read('tokenizer-service', 'ip_local_reserved_ports')).split(',')).toContain(String(TOKENIZER_PORT));
    expect((await read('orchestrator-api', 'ip_local_reserved_ports')).split(',')).toEqual(expect.arrayContaining(['8080', '50051']));
  });

  it('Generate over gRPC returns the reference greedy tokens', async () => {
    expect(expected.minMargin).toBeGreaterThan(TIE_TOLERANCE); // the comparison is meaningful only away from near-ties
    const tokens: number[] = [];
    const stream = client.generate(
      { promptTokenIds: PROMPT, sampling: { temperature: 0, maxTokens: NUM_GREEDY, ignoreEos: true } },
      { signal: AbortSignal.timeout(60_000) },
    );
    for await (const msg of stream) tokens.push(...msg.tokenIds);
    expect(tokens).toEqual(expected.tokens);
  });

  it('the OpenAI-compatible HTTP front answers /v1/models with the model', async () => {
    const res = await fetch(`${platform?.httpUrl}/v1/models`, { signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Array<{ id: string }> };
    expect(body.data.map((m) => m.id)).toEqual(['default']); // the model directory's name in the container
  });

  it('a worker stopped mid-stream ends the request with UNAVAILABLE, not a hang', async () => {
    const p = platform as StartedPlatform;
    const stream = client.generate(
      { promptTokenIds: PROMPT, sampling: { temperature: 0, maxTokens: 500, ignoreEos: true } },
      { signal: AbortSignal.timeout(90_000) },
    );
    let received = 0;
    let stopping: Promise<void> | undefined;
    const outcome = await (async () => {
      try {
        for await (const msg of stream) {
          received += msg.tokenIds.length;
          stopping ??= p.stopService('attention-worker', 1_000);
        }
        return 'finished';
      } catch (err) {
        return err instanceof ClientError ? Status[err.code] : String(err);
      }
    })();
    await stopping;
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(500);
    expect(outcome).toBe('UNAVAILABLE');
  });
});
