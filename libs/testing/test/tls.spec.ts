/**
 * TLS and mTLS handshakes between the platform's gRPC servers and clients (libs/platform's
 * TlsFiles / appSecurity) with certificates from makeTestCertificates:
 * - TLS: a client that trusts the CA gets through; a plaintext client and a client that trusts
 *   another CA do not;
 * - mTLS (an internal service with --tls-ca): a client presenting a certificate the CA signed gets
 *   through; a client without a certificate, and one whose certificate another CA signed, are refused;
 * - settings errors are one line naming the flag.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelCredentials } from '@grpc/grpc-js';
import { tokenizer } from '@llm/proto';
import { ClientError, TlsFiles, appSecurity, clientCredentials, connectGrpc, startGrpcServer, type RunningGrpcServer } from '@llm/platform';
import { makeTestCertificates, type TestCertificates } from '../src';

jest.setTimeout(60_000);

const echo = { async encode(req: tokenizer.EncodeRequest) { return { tokenIds: [req.text.length] }; } };

let dir: string;
let certs: TestCertificates;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-tls-'));
  certs = await makeTestCertificates(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(settings: { tlsCert: string; tlsKey: string; tlsCa: string }, role: 'internal' | 'public'): Promise<RunningGrpcServer> {
  const sec = appSecurity(settings, role);
  return startGrpcServer({ port: 0, services: [{ definition: tokenizer.TokenizerDefinition, implementation: echo }], credentials: sec.serverCredentials });
}

/** Encode through `credentials`: 'ok', or the failure's status code. */
async function attempt(server: RunningGrpcServer, credentials: ChannelCredentials | undefined): Promise<'ok' | number> {
  const conn = connectGrpc(tokenizer.TokenizerDefinition, server.address, { credentials, deadlineMs: 5000 });
  try {
    const res = await conn.client.encode({ tokenizer: 'x', text: 'four' });
    return res.tokenIds[0] === 4 ? 'ok' : -1;
  } catch (err) {
    return (err as ClientError).code;
  } finally {
    conn.close();
  }
}

describe('TLS (server certificate only)', () => {
  let server: RunningGrpcServer;
  beforeAll(async () => {
    server = await serve({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsCa: '' }, 'public');
  });
  afterAll(() => server.close(100));

  it('serves a client that trusts the CA; refuses plaintext and a client that trusts another CA', async () => {
    expect(await attempt(server, clientCredentials({ tlsCa: certs.ca }))).toBe('ok');
    expect(await attempt(server, undefined)).not.toBe('ok');
    expect(await attempt(server, ChannelCredentials.createSsl(readFileSync(certs.rogueCa)))).not.toBe('ok');
  });
});

describe('mTLS (an internal service with --tls-ca)', () => {
  let server: RunningGrpcServer;
  beforeAll(async () => {
    server = await serve({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsCa: certs.ca }, 'internal');
  });
  afterAll(() => server.close(100));

  it('serves a client presenting a certificate the CA signed (the way the apps call each other)', async () => {
    // An app's own settings: its certificate and the CA, exactly what clientCredentials gets in the apps.
    expect(await attempt(server, clientCredentials({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsCa: certs.ca }))).toBe('ok');
    expect(await attempt(server, clientCredentials({ tlsCert: certs.clientCert, tlsKey: certs.clientKey, tlsCa: certs.ca }))).toBe('ok');
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    expect(await attempt(server, clientCredentials({ tlsCa: certs.ca }))).not.toBe('ok');
    const rogue = ChannelCredentials.createSsl(readFileSync(certs.ca), readFileSync(certs.rogueClientKey), readFileSync(certs.rogueClientCert));
    expect(await attempt(server, rogue)).not.toBe('ok');
    expect(await attempt(server, undefined)).not.toBe('ok');
  });
});

describe('TLS settings', () => {
  it('are one line naming the flag when wrong', () => {
    expect(() => TlsFiles.load({ tlsCert: certs.serverCert, tlsKey: '', tlsCa: '' })).toThrow('--tls-cert and --tls-key go together');
    expect(() => TlsFiles.load({ tlsCert: join(dir, 'nope.pem'), tlsKey: certs.serverKey, tlsCa: '' })).toThrow(/--tls-cert .*nope\.pem cannot be read: ENOENT/);
    expect(() => TlsFiles.load({ tlsCert: '', tlsKey: '', tlsCa: join(dir, '..') })).toThrow(/--tls-ca .* cannot be read/);
    expect(() => appSecurity({ tlsCert: '', tlsKey: '', tlsCa: certs.ca }, 'internal')).toThrow(/requires? client certificates, which needs TLS: pass --tls-cert and --tls-key/);
    expect(TlsFiles.load({ tlsCert: '', tlsKey: '', tlsCa: '' })).toBeUndefined();
  });
});
