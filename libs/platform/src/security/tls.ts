/**
 * TLS material from the shared settings (--tls-cert, --tls-key, --tls-ca), loaded once and turned
 * into what each transport needs: grpc-js server credentials (TLS, or mTLS when client
 * certificates are required), grpc-js channel credentials for the services an app calls (TLS
 * verified against the CA, presenting this app's certificate), and node:https server options.
 *
 * What it is not: certificate issuance (the README shows the openssl commands; tests make theirs
 * with @peculiar/x509) or reloading on rotation (restart the app).
 */
import { readFileSync } from 'node:fs';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';

export interface TlsSettings {
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
}

function readPem(flag: string, path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new Error(`${flag} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!pem.toString('latin1').includes('-----BEGIN ')) throw new Error(`${flag} ${path} is not a PEM file (expected '-----BEGIN ...')`);
  return pem;
}

export class TlsFiles {
  private constructor(
    readonly cert: Buffer | undefined,
    readonly key: Buffer | undefined,
    readonly ca: Buffer | undefined,
  ) {}

  /** The files named by the settings, or undefined when none is set; one line naming the flag on error. */
  static load(s: TlsSettings): TlsFiles | undefined {
    if (!s.tlsCert && !s.tlsKey && !s.tlsCa) return undefined;
    if (!!s.tlsCert !== !!s.tlsKey) throw new Error('--tls-cert and --tls-key go together: pass both (LLM_TLS_CERT, LLM_TLS_KEY) or neither');
    return new TlsFiles(
      s.tlsCert ? readPem('--tls-cert', s.tlsCert) : undefined,
      s.tlsKey ? readPem('--tls-key', s.tlsKey) : undefined,
      s.tlsCa ? readPem('--tls-ca', s.tlsCa) : undefined,
    );
  }

  /** True when this app has a certificate to serve with. */
  get serves(): boolean {
    return this.cert !== undefined;
  }

  /**
   * gRPC server credentials: TLS with this app's certificate; with `requireClientCert` (internal
   * services, when a CA is configured) every client must present a certificate the CA signed.
   */
  serverCredentials(requireClientCert: boolean): ServerCredentials | undefined {
    const mtls = requireClientCert && this.ca !== undefined;
    if (!this.cert || !this.key) {
      if (mtls) throw new Error('--tls-ca makes this service require client certificates, which needs TLS: pass --tls-cert and --tls-key too');
      return undefined;
    }
    return ServerCredentials.createSsl(mtls ? (this.ca as Buffer) : null, [{ private_key: this.key, cert_chain: this.cert }], mtls);
  }

  /** Channel credentials for the services this app calls: TLS verified by the CA, with this app's certificate. */
  channelCredentials(): ChannelCredentials | undefined {
    if (!this.ca) return undefined;
    return ChannelCredentials.createSsl(this.ca, this.key ?? null, this.cert ?? null);
  }

  /** node:https options for a public HTTP server (no client certificates: the API takes keys). */
  httpsOptions(): { cert: Buffer; key: Buffer } | undefined {
    return this.cert && this.key ? { cert: this.cert, key: this.key } : undefined;
  }
}
