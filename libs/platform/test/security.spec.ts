/**
 * API keys, tenants and the gRPC key check (libs/platform/src/security):
 * - the key ring: flags' keys are their own tenants, file lines name theirs, bad files are one line
 *   naming file:line, and a key is never echoed;
 * - constant time: every stored digest is compared (no early exit), whichever entry matches;
 * - tenant salts: equal for one tenant, different across tenants whatever salt a client sends;
 * - the policy's decisions, then the same over a real gRPC server on 127.0.0.1: no key and a wrong
 *   key get UNAUTHENTICATED, the right key reaches the handler with its tenant, health is exempt,
 *   reflection (v1 and v1alpha) is not;
 * - reflection answers under both names, listed with a v1alpha client (grpc-js-reflection-client).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials as grpcCredentials, Metadata as GrpcMetadata } from '@grpc/grpc-js';
import { GrpcReflection } from 'grpc-js-reflection-client';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { tokenizer } from '@llm/proto';
import {
  ApiKeyRing,
  AuthPolicy,
  ClientError,
  Status,
  bearerToken,
  connectGrpc,
  defaultTenant,
  startGrpcServer,
  tenantCacheSalt,
  tenantOf,
  type CallContext,
  type RunningGrpcServer,
} from '@llm/platform';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-keys-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keysFile(text: string): string {
  const p = join(dir, `keys-${Math.random().toString(36).slice(2)}`);
  writeFileSync(p, text);
  return p;
}

describe('ApiKeyRing', () => {
  it('maps keys to tenants: flag keys are their own tenant, file lines name theirs', () => {
    const file = keysFile('# team keys\nk-alpha-1 alpha\n\nk-alpha-2 alpha\nk-solo\n');
    const ring = ApiKeyRing.from(['k-flag'], file);
    expect(ring.size).toBe(4);
    expect(ring.authenticate('k-alpha-1')).toBe('alpha');
    expect(ring.authenticate('k-alpha-2')).toBe('alpha');
    expect(ring.authenticate('k-solo')).toBe(defaultTenant('k-solo'));
    expect(ring.authenticate('k-flag')).toBe(defaultTenant('k-flag'));
    expect(defaultTenant('k-flag')).toMatch(/^key-[0-9a-f]{12}$/);
    expect(defaultTenant('k-flag')).not.toBe(defaultTenant('k-solo'));
    expect(ring.authenticate('k-alpha-')).toBeUndefined();
    expect(ring.authenticate('')).toBeUndefined();
    expect(ring.describe()).toBe('4 API keys, 3 tenants');
  });

  it('refuses a bad file with one line naming file:line, never the key', () => {
    const three = keysFile('ok-key t\nsecret-key-123 t extra\n');
    expect(() => ApiKeyRing.from([], three)).toThrow(`${three}:2: expected 'KEY' or 'KEY TENANT', got 3 fields`);
    const dup = keysFile('secret-key-123 a\nsecret-key-123 b\n');
    let message = '';
    try {
      ApiKeyRing.from([], dup);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(`${dup}:2: this API key is given twice (also ${dup}:1)`);
    expect(() => ApiKeyRing.from([], join(dir, 'missing'))).toThrow(/--api-keys-file .*missing cannot be read: ENOENT/);
    expect(() => ApiKeyRing.from(['has space'])).toThrow('--api-key #1: an API key must not contain whitespace');
  });

  it('compares against every stored key, whichever matches (no early exit)', () => {
    const ring = ApiKeyRing.from(['k0', 'k1', 'k2', 'k3', 'k4']);
    // The module object itself (a namespace import would be a copy the spy cannot reach).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const spy = jest.spyOn(require('node:crypto') as typeof import('node:crypto'), 'timingSafeEqual');
    try {
      for (const presented of ['k0', 'k2', 'k4', 'nope', 'a-much-longer-presented-key-than-any-stored-one']) {
        spy.mockClear();
        ring.authenticate(presented);
        expect(spy).toHaveBeenCalledTimes(5);
        // Both sides are 32-byte digests, so the comparison's length never depends on the key.
        for (const [a, b] of spy.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
      }
    } finally {
      spy.mockRestore();
    }
  });

  it('reads the bearer token of an Authorization value', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('tenantCacheSalt', () => {
  it('is one salt per tenant and client salt, and no client salt reaches another tenant', () => {
    expect(tenantCacheSalt('alpha', '')).toBe(tenantCacheSalt('alpha', ''));
    expect(tenantCacheSalt('alpha', '')).not.toBe(tenantCacheSalt('beta', ''));
    expect(tenantCacheSalt('alpha', 'x')).not.toBe(tenantCacheSalt('alpha', ''));
    const beta = tenantCacheSalt('beta', '');
    // Whatever alpha sends as its own salt, its salt starts with alpha's digest, never beta's.
    for (const clientSalt of [beta, beta.slice(2), 'beta', `/${beta}`]) {
      expect(tenantCacheSalt('alpha', clientSalt).startsWith(`${tenantCacheSalt('alpha', '')}/`)).toBe(true);
    }
  });
});

describe('AuthPolicy', () => {
  const policy = new AuthPolicy(ApiKeyRing.from(['good-key']), ['/health', 'grpc.health.v1.Health', '/llm.x.v1.X/Open']);

  it('decides: open without keys, exempt paths, missing, invalid, the tenant of a good key', () => {
    expect(new AuthPolicy(ApiKeyRing.from([]), []).decide('/v1/completions', undefined)).toEqual({ ok: true });
    expect(policy.decide('/health', undefined)).toEqual({ ok: true });
    expect(policy.decide('/grpc.health.v1.Health/Check', undefined)).toEqual({ ok: true });
    expect(policy.decide('/llm.x.v1.X/Open', undefined)).toEqual({ ok: true });
    expect(policy.decide('/llm.x.v1.X/Closed', undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(policy.decide('/v1/completions', undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(policy.decide('/v1/completions', 'Basic good-key')).toEqual({ ok: false, reason: 'missing' });
    expect(policy.decide('/v1/completions', 'Bearer bad-key')).toEqual({ ok: false, reason: 'invalid' });
    expect(policy.decide('/v1/completions', 'Bearer good-key')).toEqual({ ok: true, tenant: defaultTenant('good-key') });
  });
});

describe('the API key check over gRPC', () => {
  let server: RunningGrpcServer;
  const seen: Array<string | undefined> = [];
  const service = {
    async encode(req: tokenizer.EncodeRequest, ctx: CallContext) {
      seen.push(tenantOf(ctx));
      return { tokenIds: Array.from(Buffer.from(req.text, 'utf8')) };
    },
  };

  beforeAll(async () => {
    const auth = AuthPolicy.fromSettings({ apiKey: [], apiKeysFile: keysFile('key-of-alpha alpha\nkey-of-beta beta\n'), authExempt: ['grpc.health.v1.Health'] });
    server = await startGrpcServer({ port: 0, services: [{ definition: tokenizer.TokenizerDefinition, implementation: service }], auth });
  });
  afterAll(() => server?.close(100));

  const call = async (authorization?: string) => {
    const conn = connectGrpc(tokenizer.TokenizerDefinition, server.address);
    try {
      const metadata = authorization === undefined ? undefined : Metadata({ authorization });
      return await conn.client.encode({ tokenizer: 'bytes', text: 'hi' }, { metadata });
    } catch (err) {
      return err as ClientError;
    } finally {
      conn.close();
    }
  };

  it('refuses a call without a key and with a wrong key: UNAUTHENTICATED, without echoing the key', async () => {
    const none = (await call()) as ClientError;
    expect(none).toBeInstanceOf(ClientError);
    expect(none.code).toBe(Status.UNAUTHENTICATED);
    expect(none.details).toMatch(/missing API key: send .*authorization: Bearer KEY/);
    const wrong = (await call('Bearer key-of-gamma')) as ClientError;
    expect(wrong.code).toBe(Status.UNAUTHENTICATED);
    expect(wrong.details).toBe('invalid API key');
    expect(seen).toEqual([]);
  });

  it('lets a right key through and hands its tenant to the handler', async () => {
    expect(await call('Bearer key-of-alpha')).toEqual({ tokenIds: [104, 105] });
    expect(await call('Bearer key-of-beta')).toEqual({ tokenIds: [104, 105] });
    expect(seen).toEqual(['alpha', 'beta']);
  });

  it('answers health without a key (exempt) but reflection only with one', async () => {
    const channel = createChannel(server.address);
    try {
      const health = await createClient(HealthDefinition, channel).check({ service: '' });
      expect(health.status).toBe(1); // SERVING
    } finally {
      channel.close();
    }
    for (const version of ['v1', 'v1alpha']) {
      const client = new GrpcReflection(server.address, grpcCredentials.createInsecure(), {}, version);
      await expect(client.listServices()).rejects.toThrow(/UNAUTHENTICATED|missing API key/);
      const md = new GrpcMetadata();
      md.set('authorization', 'Bearer key-of-alpha');
      expect(await client.listServices('*', md)).toEqual(['llm.tokenizer.v1.Tokenizer']);
    }
  });
});

describe('server reflection', () => {
  it('lists the services under v1alpha (grpc-js-reflection-client) and v1, and describes them', async () => {
    const server = await startGrpcServer({ port: 0, services: [{ definition: tokenizer.TokenizerDefinition, implementation: {} }] });
    try {
      for (const version of ['v1alpha', 'v1']) {
        const client = new GrpcReflection(server.address, grpcCredentials.createInsecure(), {}, version);
        expect(await client.listServices()).toEqual(['llm.tokenizer.v1.Tokenizer']);
        const methods = (await client.listMethods('llm.tokenizer.v1.Tokenizer')).map((m) => m.name).sort();
        expect(methods).toEqual(expect.arrayContaining(['Decode', 'DecodeStream', 'Encode', 'Train']));
      }
    } finally {
      await server.close(100);
    }
  });
});
