/*
 * The orchestrator's public ports with API keys and TLS on (embedded platform, in-process kv and
 * worker): HTTPS and gRPC over TLS verified with the test CA; requests without a key, with a wrong
 * key and with a right key (401 with an OpenAI-shaped error / UNAUTHENTICATED, then 200 / OK);
 * /health and /metrics answer without a key; and tenant isolation of the prefix cache: two tenants
 * sending the same prompt get 0 cached tokens from each other, while a tenant's second request
 * gets its own blocks back. Certificates come from @llm/testing's makeTestCertificates.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelCredentials } from '@grpc/grpc-js';
import { ClientError, connectGrpc, Metadata, startGrpcServer, Status, type RunningGrpcServer } from '@llm/platform';
import { inference } from '@llm/proto';
import { makeTestCertificates, type TestCertificates } from '@llm/testing';
import { startTestPlatform, type TestPlatform } from './support/platform';

jest.setTimeout(60_000);

let dir: string;
let certs: TestCertificates;
let p: TestPlatform;
let grpc: RunningGrpcServer;

const KEYS = { alpha1: 'sk-alpha-0123456789', alpha2: 'sk-alpha-abcdefghij', beta: 'sk-beta-0123456789' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orch-security-'));
  certs = await makeTestCertificates(join(dir, 'certs'));
  const keysFile = join(dir, 'api-keys');
  writeFileSync(keysFile, `# two tenants\n${KEYS.alpha1} alpha\n${KEYS.alpha2} alpha\n${KEYS.beta} beta\n`);
  p = await startTestPlatform({
    numBlocks: 96,
    blockSize: 4,
    config: { httpPort: 0, apiKeysFile: keysFile, tlsCert: certs.serverCert, tlsKey: certs.serverKey },
  });
  grpc = await startGrpcServer({
    port: 0,
    services: [{ definition: inference.InferenceDefinition, implementation: p.orch.inference }],
    credentials: p.orch.security.serverCredentials,
    auth: p.orch.security.auth,
  });
});

afterAll(async () => {
  await grpc?.close(100);
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One HTTPS request verified against the test CA; the body parsed as JSON when it is. */
function https(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  return new Promise((resolve, reject) => {
    const [host, port] = (p.orch.http as string).split(':');
    const req = request({ host, port: Number(port), servername: 'localhost', path, method, ca: readFileSync(certs.ca), headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON (/metrics)
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const COMPLETION = { prompt: [5, 17, 42, 99, 7, 8, 9, 10, 11], max_tokens: 2, temperature: 0, ignore_eos: true };

describe('HTTP (TLS) with API keys', () => {
  it('refuses no key and a wrong key with 401 and an OpenAI-shaped error, serves a right key', async () => {
    const none = await https('POST', '/v1/completions', {}, COMPLETION);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.body).toEqual({
      error: { message: expect.stringMatching(/^missing API key/), type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
    });
    const wrong = await https('POST', '/v1/completions', bearer('sk-nobody'), COMPLETION);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatchObject({ message: 'invalid API key', code: 'invalid_api_key' });
    expect(JSON.stringify(wrong.body)).not.toContain('sk-nobody');
    const models = await https('GET', '/v1/models', {});
    expect(models.status).toBe(401);
    const right = await https('POST', '/v1/completions', bearer(KEYS.beta), COMPLETION);
    expect(right.status).toBe(200);
    expect(right.body.choices[0].finish_reason).toBe('length');
  });

  it('answers /health and /metrics without a key', async () => {
    expect(await https('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const metrics = await https('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toMatch(/^# HELP/m);
  });

  it('isolates tenants in the prefix cache: 0 cached tokens across tenants, a hit within one', async () => {
    const prompt = { ...COMPLETION, prompt: [201, 202, 203, 204, 205, 206, 207, 208, 209] }; // 2 full blocks of 4
    const cached = async (key: string) => {
      const res = await https('POST', '/v1/completions', bearer(key), prompt);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 30)); // the blocks' hashes are committed after their step
      return res.body.usage.prompt_tokens_details.cached_tokens as number;
    };
    expect(await cached(KEYS.alpha1)).toBe(0); // first of alpha
    expect(await cached(KEYS.beta)).toBe(0); // beta does not see alpha's blocks
    expect(await cached(KEYS.alpha2)).toBe(8); // alpha (another key of the same tenant) gets its blocks back
    expect(await cached(KEYS.beta)).toBe(8); // and beta its own
    // A client salt cannot reach another tenant's blocks either.
    const salted = await https('POST', '/v1/completions', bearer(KEYS.beta), { ...prompt, cache_salt: 'alpha' });
    expect(salted.body.usage.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it('is not served in plaintext', async () => {
    await expect(fetch(`http://${p.orch.http}/health`)).rejects.toThrow();
  });
});

describe('gRPC (TLS) with API keys', () => {
  const tlsClient = () => connectGrpc(inference.InferenceDefinition, grpc.address, { credentials: ChannelCredentials.createSsl(readFileSync(certs.ca)) });

  it('refuses no key and a wrong key with UNAUTHENTICATED, serves a right key', async () => {
    const conn = tlsClient();
    try {
      const req = { promptTokenIds: [5, 17, 42], sampling: { temperature: 0, maxTokens: 2, ignoreEos: true } };
      const none = await conn.client.complete(req).catch((e: ClientError) => e);
      expect(none).toBeInstanceOf(ClientError);
      expect((none as ClientError).code).toBe(Status.UNAUTHENTICATED);
      const wrong = await conn.client.complete(req, { metadata: Metadata(bearer('sk-nobody')) }).catch((e: ClientError) => e);
      expect((wrong as ClientError).code).toBe(Status.UNAUTHENTICATED);
      const ok = await conn.client.complete(req, { metadata: Metadata(bearer(KEYS.alpha1)) });
      expect(ok.choices[0].tokenIds).toHaveLength(2);
    } finally {
      conn.close();
    }
  });

  it('gives the same tenant isolation over gRPC streams', async () => {
    const conn = tlsClient();
    try {
      const cachedOf = async (key: string) => {
        let cached = -1;
        const stream = conn.client.generate(
          { promptTokenIds: [301, 302, 303, 304, 305], sampling: { temperature: 0, maxTokens: 2, ignoreEos: true } },
          { metadata: Metadata(bearer(key)) },
        );
        for await (const d of stream) if (d.usage) cached = d.usage.cachedPromptTokens;
        await new Promise((r) => setTimeout(r, 30));
        return cached;
      };
      expect(await cachedOf(KEYS.beta)).toBe(0);
      expect(await cachedOf(KEYS.alpha1)).toBe(0);
      expect(await cachedOf(KEYS.beta)).toBe(4);
    } finally {
      conn.close();
    }
  });

  it('refuses a plaintext client', async () => {
    const conn = connectGrpc(inference.InferenceDefinition, grpc.address, { deadlineMs: 3000 });
    try {
      const err = await conn.client.listModels({}, { metadata: Metadata(bearer(KEYS.alpha1)) }).catch((e: ClientError) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.INTERNAL]).toContain((err as ClientError).code);
    } finally {
      conn.close();
    }
  });
});
