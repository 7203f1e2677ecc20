/**
 * `llm serve` secured, embedded and distributed: API keys (a flag key and a keys file with
 * tenants) and TLS on the public ports, and in distributed mode mTLS between the five processes and
 * a password on the Redis it starts. Requests without a key and with a wrong key are refused
 * (HTTP 401 with an OpenAI-shaped error, gRPC UNAUTHENTICATED), a right key is served; in embedded
 * mode the internal services on the public port are guarded too; in distributed mode an internal
 * service refuses a client without a certificate the CA signed, every internal port is on
 * 127.0.0.1, and the Redis refuses a client without the password.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelCredentials } from '@grpc/grpc-js';
import IORedis from 'ioredis';
import { initModelDir } from '@llm/model';
import { ClientError, clientCredentials, connectGrpc, Metadata, Status } from '@llm/platform';
import { inference, kv, tokenizer } from '@llm/proto';
import { makeTestCertificates, startRedis, type StartedRedis, type TestCertificates } from '@llm/testing';
import { startDistributed, type DistributedPlatform } from '../src/serve/distributed';
import { startEmbedded, type EmbeddedPlatform } from '../src/serve/embedded';
import type { ServeSecurity } from '../src/serve/settings';

jest.setTimeout(300_000);

const FLAG_KEY = 'sk-flag-0123456789abcdef';
const FILE_KEY = 'sk-file-0123456789abcdef';
let dir: string;
let certs: TestCertificates;
let security: ServeSecurity;
const settings = { host: '127.0.0.1', backend: 'ts' as const, threads: 1, kvCacheGib: 0.01, blockSize: 8, maxNumSeqs: 16, maxNumBatchedTokens: 256 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-serve-sec-'));
  initModelDir(join(dir, 'model'), 'llama', { seed: 7 });
  certs = await makeTestCertificates(join(dir, 'certs'));
  writeFileSync(join(dir, 'keys'), `${FILE_KEY} team-a\n`);
  security = {
    apiKey: [FLAG_KEY],
    apiKeysFile: join(dir, 'keys'),
    authExempt: ['/health', '/metrics', 'grpc.health.v1.Health'],
    tlsCert: certs.serverCert,
    tlsKey: certs.serverKey,
    tlsCa: certs.ca,
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function https(address: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: any }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), servername: 'localhost', method, path, ca: readFileSync(certs.ca), headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const BODY = { prompt: [3, 14, 15, 92], max_tokens: 3, temperature: 0, ignore_eos: true };

/** No key, a wrong key and both right keys against the public HTTPS and gRPC-over-TLS ports. */
async function checkPublicPorts(grpcAddress: string, httpAddress: string): Promise<void> {
  const none = await https(httpAddress, 'POST', '/v1/completions', {}, BODY);
  expect(none.status).toBe(401);
  expect(none.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });
  expect((await https(httpAddress, 'POST', '/v1/completions', bearer('sk-wrong'), BODY)).status).toBe(401);
  for (const key of [FLAG_KEY, FILE_KEY]) {
    const ok = await https(httpAddress, 'POST', '/v1/completions', bearer(key), BODY);
    expect(ok.status).toBe(200);
    expect(ok.body.usage.completion_tokens).toBe(3);
  }
  expect((await https(httpAddress, 'GET', '/health', {})).status).toBe(200);

  const conn = connectGrpc(inference.InferenceDefinition, grpcAddress, { credentials: ChannelCredentials.createSsl(readFileSync(certs.ca)) });
  try {
    const req = { promptTokenIds: [3, 14, 15, 92], sampling: { temperature: 0, maxTokens: 3, ignoreEos: true } };
    for (const metadata of [undefined, Metadata(bearer('sk-wrong'))]) {
      const err = await conn.client.complete(req, { metadata }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).code).toBe(Status.UNAUTHENTICATED);
    }
    const ok = await conn.client.complete(req, { metadata: Metadata(bearer(FILE_KEY)) });
    expect(ok.choices[0].tokenIds).toHaveLength(3);
  } finally {
    conn.close();
  }
}

describe('embedded (llm serve) with API keys and TLS', () => {
  let embedded: EmbeddedPlatform;
  beforeAll(async () => {
    embedded = await startEmbedded({ ...settings, modelDir: join(dir, 'model'), grpcPort: 0, httpPort: 0, security });
  });
  afterAll(() => embedded?.close());

  it('refuses no key and a wrong key over HTTPS and gRPC, serves the flag key and the file key', async () => {
    await checkPublicPorts(embedded.grpcAddress, embedded.httpAddress as string);
  });

  it('guards the internal services it serves on the same port', async () => {
    const conn = connectGrpc(tokenizer.TokenizerDefinition, embedded.grpcAddress, { credentials: ChannelCredentials.createSsl(readFileSync(certs.ca)) });
    try {
      const err = await conn.client.encode({ tokenizer: 'model', text: 'hi' }).catch((e: unknown) => e);
      expect((err as ClientError).code).toBe(Status.UNAUTHENTICATED);
    } finally {
      conn.close();
    }
  });
});

describe('distributed (llm serve --distributed) with API keys, TLS, mTLS between processes, a Redis password', () => {
  let platform: DistributedPlatform;
  let redis: StartedRedis | undefined;
  const ownRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

  beforeAll(async () => {
    // With redis-server on PATH, serve starts its own (password-protected); else a test Redis.
    if (!ownRedis) redis = await startRedis();
    platform = await startDistributed({
      ...settings,
      modelDir: join(dir, 'model'),
      grpcPort: 0,
      httpPort: 0,
      redisUrl: redis?.url,
      security,
    });
  });
  afterAll(async () => {
    await platform?.close();
    await redis?.stop();
  });

  it('refuses no key and a wrong key over HTTPS and gRPC, serves the flag key and the file key', async () => {
    await checkPublicPorts(platform.grpcAddress, platform.httpAddress as string);
  });

  it('binds every internal service to 127.0.0.1 and requires a client certificate there (mTLS)', async () => {
    for (const app of ['kv-manager', 'tokenizer-service', 'attention-worker']) expect(platform.addresses[app]).toMatch(/^127\.0\.0\.1:\d+$/);
    const attempt = async (credentials: ChannelCredentials | undefined) => {
      const conn = connectGrpc(kv.KvManagerDefinition, platform.addresses['kv-manager'], { credentials, deadlineMs: 5000 });
      try {
        await conn.client.stats({ poolId: 'nope' });
        return 'ok';
      } catch (err) {
        return (err as ClientError).code === Status.NOT_FOUND || (err as ClientError).code === Status.INVALID_ARGUMENT ? 'ok' : 'refused';
      } finally {
        conn.close();
      }
    };
    expect(await attempt(undefined)).toBe('refused');
    expect(await attempt(clientCredentials({ tlsCa: certs.ca }))).toBe('refused');
    expect(await attempt(clientCredentials({ tlsCa: certs.ca, tlsCert: certs.clientCert, tlsKey: certs.clientKey }))).toBe('ok');
  });

  it('uses a Redis on 127.0.0.1 that refuses a client without the password (NOAUTH)', async () => {
    const port = new URL(platform.redisUrl).port;
    if (ownRedis) expect(platform.redisUrl).toBe(`redis://127.0.0.1:${port}`); // serve started it; the password is never in the URL
    const c = new IORedis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, lazyConnect: true });
    c.on('error', () => undefined); // the refusal is asserted below
    try {
      await expect(c.ping()).rejects.toThrow(/NOAUTH/);
    } finally {
      c.disconnect();
    }
  });
});
