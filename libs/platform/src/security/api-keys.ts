/**
 * API keys and the tenants they belong to. Keys come from flags/environment (each such key is its
 * own tenant) and from a keys file (`KEY [TENANT]` per line, `#` comments, blank lines ignored).
 *
 * A presented key is checked against every stored key in constant time: both sides are SHA-256
 * digests (equal lengths whatever the key), compared with crypto.timingSafeEqual, and the loop never
 * stops early, so the time taken says nothing about which key or how much of it matched. Keys are
 * held only as digests and never appear in errors, logs or `describe()`.
 *
 * What it is not: the transport checks (./grpc-auth.ts, ./http-auth.ts) or rate limits.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface ApiKeyEntry {
  /** SHA-256 of the key. */
  digest: Buffer;
  tenant: string;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The tenant of a key given without one: `key-` and 12 hex digits of its digest (never the key). */
export function defaultTenant(key: string): string {
  return `key-${sha256(key).toString('hex').slice(0, 12)}`;
}

export class ApiKeyRing {
  private constructor(private readonly entries: readonly ApiKeyEntry[]) {}

  /** Keys from flags/env (own tenants) and keys-file lines; throws one line naming what is wrong. */
  static from(keys: readonly string[], file?: string): ApiKeyRing {
    const entries: ApiKeyEntry[] = [];
    const seen = new Map<string, string>();
    const add = (key: string, tenant: string, where: string) => {
      if (/\s/.test(key)) throw new Error(`${where}: an API key must not contain whitespace`);
      const hex = sha256(key).toString('hex');
      if (seen.has(hex)) throw new Error(`${where}: this API key is given twice (also ${seen.get(hex)})`);
      seen.set(hex, where);
      entries.push({ digest: sha256(key), tenant });
    };
    keys.forEach((k, i) => add(k, defaultTenant(k), `--api-key #${i + 1}`));
    if (file) {
      for (const { line, key, tenant } of parseKeysFile(file)) add(key, tenant ?? defaultTenant(key), `${file}:${line}`);
    }
    return new ApiKeyRing(entries);
  }

  get size(): number {
    return this.entries.length;
  }

  /** "3 API keys, 2 tenants" (for start-up lines; never a key). */
  describe(): string {
    const tenants = new Set(this.entries.map((e) => e.tenant)).size;
    return `${this.size} API key${this.size === 1 ? '' : 's'}, ${tenants} tenant${tenants === 1 ? '' : 's'}`;
  }

  /** The tenant of `presented`, or undefined. Constant time in the presented key and in which entry matched. */
  authenticate(presented: string): string | undefined {
    const digest = sha256(presented);
    let match: string | undefined;
    for (const e of this.entries) {
      const equal = timingSafeEqual(digest, e.digest);
      if (equal && match === undefined) match = e.tenant;
    }
    return match;
  }
}

/** Parses a keys file: `KEY` or `KEY TENANT` per line; `#` starts a comment line. */
export function parseKeysFile(path: string): Array<{ line: number; key: string; tenant?: string }> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--api-keys-file ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const out: Array<{ line: number; key: string; tenant?: string }> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    const parts = l.split(/\s+/);
    if (parts.length > 2) throw new Error(`${path}:${i + 1}: expected 'KEY' or 'KEY TENANT', got ${parts.length} fields`);
    out.push({ line: i + 1, key: parts[0], tenant: parts[1] });
  });
  return out;
}

/** The key of an `Authorization: Bearer KEY` value (scheme case-insensitive), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

/**
 * The prefix-cache salt of a tenant's request: the tenant's digest, then the client's own salt.
 * Block hashes chain from the salt, so two tenants never share a cached block, whatever salt a
 * client sends, while requests of one tenant still do.
 */
export function tenantCacheSalt(tenant: string, clientSalt: string): string {
  const t = createHash('sha256').update(`tenant\0${tenant}`).digest('hex').slice(0, 32);
  return clientSalt ? `t:${t}/${clientSalt}` : `t:${t}`;
}
