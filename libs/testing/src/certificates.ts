/**
 * makeTestCertificates(dir): a throwaway PKI for TLS and mTLS tests, written as PEM files:
 *
 *   ca.pem                the test CA (self-signed, ECDSA P-256)
 *   server.pem/-key.pem   a service certificate from that CA, valid for localhost, 127.0.0.1 and ::1
 *                         (serverAuth and clientAuth: services present it both ways, as in mTLS)
 *   client.pem/-key.pem   a client certificate from that CA (clientAuth)
 *   rogue-ca.pem, rogue-client.pem/-key.pem   a second CA and a client it signed (must be refused)
 *
 * Made with @peculiar/x509 on Node's WebCrypto, so no openssl binary is needed. Valid for a day.
 * What it is not: anything for production (keys are written unencrypted to `dir`).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

export interface TestCertificates {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCa: string;
  rogueClientCert: string;
  rogueClientKey: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

type Keys = webcrypto.CryptoKeyPair;

async function keyPair(): Promise<Keys> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as Keys;
}

async function keyPem(keys: Keys): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as never);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

let serial = 1;
const nextSerial = () => (serial++).toString(16).padStart(2, '0');

async function selfSignedCa(name: string): Promise<{ cert: x509.X509Certificate; keys: Keys }> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY_MS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function leaf(
  ca: { cert: x509.X509Certificate; keys: Keys },
  name: string,
  usages: string[],
  altNames: x509.JsonGeneralNames = [],
): Promise<{ cert: string; key: string }> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: `CN=${name}`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(usages),
      ...(altNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(altNames)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys) };
}

export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  mkdirSync(dir, { recursive: true });
  const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
  const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
  const ca = await selfSignedCa('llm-platform test CA');
  const rogue = await selfSignedCa('rogue test CA');
  const server = await leaf(ca, 'llm-platform test service', [SERVER_AUTH, CLIENT_AUTH], [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
  ]);
  const client = await leaf(ca, 'llm-platform test client', [CLIENT_AUTH]);
  const rogueClient = await leaf(rogue, 'rogue test client', [CLIENT_AUTH]);
  const files: Record<string, string> = {
    'ca.pem': ca.cert.toString('pem'),
    'server.pem': server.cert,
    'server-key.pem': server.key,
    'client.pem': client.cert,
    'client-key.pem': client.key,
    'rogue-ca.pem': rogue.cert.toString('pem'),
    'rogue-client.pem': rogueClient.cert,
    'rogue-client-key.pem': rogueClient.key,
  };
  for (const [name, pem] of Object.entries(files)) writeFileSync(join(dir, name), pem, { mode: 0o600 });
  const p = (name: string) => join(dir, name);
  return {
    dir,
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server-key.pem'),
    clientCert: p('client.pem'),
    clientKey: p('client-key.pem'),
    rogueCa: p('rogue-ca.pem'),
    rogueClientCert: p('rogue-client.pem'),
    rogueClientKey: p('rogue-client-key.pem'),
  };
}
