/**
 * Settings every app shares, spread into each app's schema so the same flag means the same thing
 * everywhere (README.md has the table): where it binds, how much it logs, its TLS identity and the
 * CA it trusts; for the apps that use Redis, the Redis password; for the public API, the API keys.
 *
 * TLS, one model for every app:
 *   --tls-cert + --tls-key   this app's certificate: its gRPC (and the orchestrator's HTTP) port
 *                            serves TLS, and it is the client certificate it presents to others
 *   --tls-ca                 the CA it trusts: the services it calls are reached over TLS and
 *                            verified against it, and an internal service (every gRPC server but the
 *                            orchestrator's public one) requires client certificates signed by it (mTLS)
 * Metrics: every app serves Prometheus text on its own --metrics-port (`metricsSettings`), default
 * DEFAULT_METRICS_PORTS[app] (the last digit is that of the app's gRPC port).
 * What it is not: the loading of the files (../security/tls.ts) or the key check (../security).
 */
import { defineConfig } from './loader';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const serverSettings = defineConfig({
  host: { type: 'string', default: '127.0.0.1', description: 'address the servers bind (0.0.0.0 in containers)' },
  logLevel: { type: 'string', default: 'info', choices: LOG_LEVELS, description: 'log level' },
  tlsCert: { type: 'string', default: '', description: 'PEM certificate (chain): serve TLS with --tls-key; also the client certificate for mTLS' },
  tlsKey: { type: 'string', default: '', description: 'PEM private key of --tls-cert' },
  tlsCa: {
    type: 'string',
    default: '',
    description: 'PEM CA bundle: call other services over TLS verified by it; internal services also require client certificates it signed (mTLS)',
  },
});

/** Each app's default --metrics-port. */
export const DEFAULT_METRICS_PORTS = { orchestrator: 9451, 'tokenizer-service': 9452, router: 9453, 'attention-worker': 9454, 'kv-manager': 9455 } as const;

/** The --metrics-port setting with an app's default. */
export function metricsSettings(defaultPort: number) {
  return defineConfig({
    metricsPort: {
      type: 'int',
      default: defaultPort,
      min: -1,
      max: 65535,
      description: 'Prometheus GET /metrics port, plain HTTP on --host (0 picks a free one, -1 turns it off)',
    },
  });
}

export const redisSettings = defineConfig({
  redisPassword: { type: 'string', default: '', secret: true, description: 'Redis password (overrides one in --redis-url)' },
  redisPasswordFile: { type: 'string', default: '', description: 'file holding the Redis password (Docker and Kubernetes secrets)' },
});

export const DEFAULT_AUTH_EXEMPT = ['/health', '/metrics', 'grpc.health.v1.Health'] as const;

export const apiAuthSettings = defineConfig({
  apiKey: {
    type: 'list',
    default: [],
    secret: true,
    description: 'API key clients send (HTTP Authorization: Bearer KEY, gRPC metadata authorization), repeatable; no keys: the API is open',
  },
  apiKeysFile: { type: 'string', default: '', description: "file of API keys, one per line 'KEY [TENANT]' (# comments)" },
  authExempt: {
    type: 'list',
    default: DEFAULT_AUTH_EXEMPT,
    description: 'HTTP paths, gRPC services or /service/method answered without a key',
  },
});
