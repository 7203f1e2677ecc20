/**
 * One call per app turns its shared settings into what its servers and clients need:
 *
 *   appSecurity(config, 'internal')   kv-manager, tokenizer-service, router, attention-worker:
 *                                     TLS on their gRPC port; mTLS (client certificates signed by
 *                                     --tls-ca) when a CA is set; no API keys
 *   appSecurity(config, 'public')     the orchestrator's (and `llm serve`'s) public ports: TLS
 *                                     without client certificates, plus the API key check
 *
 * and, for both, the channel credentials for the services the app calls (TLS verified by
 * --tls-ca, presenting this app's certificate). Also the Redis URL with its password applied.
 * What it is not: the checks themselves (the files beside this one).
 */
import { readFileSync } from 'node:fs';
import type { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { AuthPolicy, type AuthSettings } from './auth-policy';
import { TlsFiles, type TlsSettings } from './tls';

export interface AppSecurity {
  tls?: TlsFiles;
  /** Credentials for this app's gRPC server (undefined: plaintext). */
  serverCredentials?: ServerCredentials;
  /** Credentials for the gRPC channels this app opens (undefined: plaintext). */
  channelCredentials?: ChannelCredentials;
  /** The API key check (public role with keys configured). */
  auth?: AuthPolicy;
}

export function appSecurity(settings: TlsSettings & Partial<AuthSettings>, role: 'internal' | 'public'): AppSecurity {
  const tls = TlsFiles.load(settings);
  const auth =
    role === 'public' && settings.apiKey !== undefined
      ? AuthPolicy.fromSettings({ apiKey: settings.apiKey, apiKeysFile: settings.apiKeysFile ?? '', authExempt: settings.authExempt ?? [] })
      : undefined;
  return {
    tls,
    serverCredentials: tls?.serverCredentials(role === 'internal'),
    channelCredentials: tls?.channelCredentials(),
    auth: auth?.enabled ? auth : undefined,
  };
}

export interface RedisAuthSettings {
  redisPassword: string;
  redisPasswordFile: string;
}

/** `url` with the password from --redis-password or --redis-password-file applied (unchanged when neither is set). */
export function redisUrlWithPassword(url: string, s: RedisAuthSettings): string {
  if (!url) return url;
  let password = s.redisPassword;
  if (s.redisPasswordFile) {
    try {
      password = readFileSync(s.redisPasswordFile, 'utf8').trim();
    } catch (err) {
      throw new Error(`--redis-password-file ${s.redisPasswordFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!password) throw new Error(`--redis-password-file ${s.redisPasswordFile} is empty`);
  }
  if (!password) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--redis-url is not a URL (expected redis://host:port[/db])`);
  }
  u.password = encodeURIComponent(password);
  return u.toString();
}

const tlsOf = (s: Partial<TlsSettings>): TlsSettings => ({ tlsCert: s.tlsCert ?? '', tlsKey: s.tlsKey ?? '', tlsCa: s.tlsCa ?? '' });

/** The `credentials` and `auth` of a gRPC server from (possibly partial) app settings. */
export function serverSecurity(
  s: Partial<TlsSettings> & Partial<AuthSettings>,
  role: 'internal' | 'public',
): { credentials?: ServerCredentials; auth?: AuthPolicy } {
  const sec = appSecurity({ ...tlsOf(s), apiKey: s.apiKey, apiKeysFile: s.apiKeysFile, authExempt: s.authExempt }, role);
  return { credentials: sec.serverCredentials, auth: sec.auth };
}

/** The channel credentials of the gRPC clients an app opens, from (possibly partial) app settings. */
export function clientCredentials(s: Partial<TlsSettings>): ChannelCredentials | undefined {
  return TlsFiles.load(tlsOf(s))?.channelCredentials();
}
