/**
 * Who may call what: the API key ring plus the exemptions (HTTP paths such as /health, gRPC services
 * such as grpc.health.v1.Health, or one gRPC method as /service/method). One decision function for
 * both transports, so HTTP and gRPC can never disagree.
 *
 *   no keys configured      -> every call passes, without a tenant (the API is open)
 *   target exempt           -> passes, without a tenant
 *   no / malformed key      -> 'missing'
 *   key not in the ring     -> 'invalid'
 *   key in the ring         -> passes with its tenant
 *
 * What it is not: transport code (./grpc-auth.ts, ./http-auth.ts) or the key storage (./api-keys.ts).
 */
import { ApiKeyRing, bearerToken } from './api-keys';

export type AuthDecision = { ok: true; tenant?: string } | { ok: false; reason: 'missing' | 'invalid' };

export interface AuthSettings {
  apiKey: readonly string[];
  apiKeysFile: string;
  authExempt: readonly string[];
}

export class AuthPolicy {
  private readonly exempt: Set<string>;

  constructor(
    readonly ring: ApiKeyRing,
    exempt: readonly string[],
  ) {
    this.exempt = new Set(exempt);
  }

  /** From the apps' shared settings (--api-key, --api-keys-file, --auth-exempt). */
  static fromSettings(s: AuthSettings): AuthPolicy {
    return new AuthPolicy(ApiKeyRing.from(s.apiKey, s.apiKeysFile || undefined), s.authExempt);
  }

  /** True when at least one key is configured. */
  get enabled(): boolean {
    return this.ring.size > 0;
  }

  /** An HTTP path ('/v1/completions') or a gRPC method path ('/llm.inference.v1.Inference/Generate'). */
  isExempt(path: string): boolean {
    if (this.exempt.has(path)) return true;
    const service = /^\/([^/]+)\/[^/]+$/.exec(path)?.[1];
    return service !== undefined && this.exempt.has(service);
  }

  /** Decides a call to `path` that presented `authorization` (the header or metadata value). */
  decide(path: string, authorization: string | undefined): AuthDecision {
    if (!this.enabled || this.isExempt(path)) return { ok: true };
    const key = bearerToken(authorization);
    if (key === undefined) return { ok: false, reason: 'missing' };
    const tenant = this.ring.authenticate(key);
    return tenant === undefined ? { ok: false, reason: 'invalid' } : { ok: true, tenant };
  }
}

/** The messages both transports send; they never echo the presented key. */
export const AUTH_MESSAGES = {
  missing: "missing API key: send the header 'Authorization: Bearer KEY' (gRPC: metadata 'authorization: Bearer KEY')",
  invalid: 'invalid API key',
} as const;
