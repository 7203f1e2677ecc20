/**
 * gRPC server factory over nice-grpc (@grpc/grpc-js underneath): every server gets the standard
 * grpc.health.v1 service (`liveness`, `readiness`, '' and each service name; see ../health.ts),
 * server reflection (v1 and v1alpha) for its services, message limits and keepalive from
 * ./options, malformed-request and error-size guards from ./hardening, and binds the host it is
 * given (127.0.0.1 in tests; 0.0.0.0 in containers). Optional: TLS/mTLS credentials
 * (../security/tls.ts) and the API key check (../security/grpc-auth.ts), which then guards every
 * service on the server but its exemptions.
 * Every call goes through the telemetry middleware first (../telemetry/grpc-telemetry.ts: metrics,
 * spans, request ids), so refused calls are counted too.
 * A busy port is one line; where Linux shows an outgoing connection holding it, the line says so
 * (./port-holder.ts). A reservation the app's main made for the port (./port-reservation.ts) is
 * released right before the bind.
 */
import { logVerbosity, setLogVerbosity, type ServerCredentials } from '@grpc/grpc-js';
import { createServer, type CompatServiceDefinition, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { ServerError, Status } from 'nice-grpc-common';
import { bindHealth, LIVENESS_SERVICE, READINESS_SERVICE, type Readiness } from '../health';
import type { AuthPolicy } from '../security/auth-policy';
import { apiKeyMiddleware } from '../security/grpc-auth';
import { guardHandler, tolerantDefinition } from './hardening';
import { grpcPortInUseError } from './port-holder';
import { releasePort } from './port-reservation';
import { serverTelemetry } from '../telemetry/grpc-telemetry';
import { serverOptions } from './options';
import { reflectionServices } from './reflection';

export interface GrpcServiceBinding {
  definition: CompatServiceDefinition & { fullName: string };
  implementation: any;
}

export interface GrpcServerOptions {
  /** Host to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. */
  port: number;
  services: GrpcServiceBinding[];
  maxMessageBytes?: number;
  /** What the services' health follows (health.ts); absent: SERVING while the server runs. */
  readiness?: Readiness;
  /** TLS or mTLS credentials (TlsFiles.serverCredentials); default plaintext. */
  credentials?: ServerCredentials;
  /** API key check for every call but the policy's exemptions; default none. */
  auth?: AuthPolicy;
}

export interface RunningGrpcServer {
  /** The bound port. */
  port: number;
  /** host:port clients connect to. */
  address: string;
  health: HealthState;
  server: Server;
  /** Marks the services not serving, then shuts down gracefully within graceMs (forced after). */
  close(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const plain = createServer(serverOptions(options.maxMessageBytes)).use(serverTelemetry()) as unknown as Server;
  const server: Server = options.auth?.enabled ? (plain.use(apiKeyMiddleware(options.auth)) as unknown as Server) : plain;
  const health = HealthState();
  server.add(HealthDefinition, HealthServiceImpl(health));
  const names = options.services.map((s) => s.definition.fullName);
  for (const r of reflectionServices(names)) server.add(r.definition, r.implementation);
  for (const s of options.services) server.add(tolerantDefinition(s.definition), completeImplementation(s.definition, s.implementation) as any);
  const host = options.host ?? '127.0.0.1';
  const bindHost = host.includes(':') ? `[${host}]` : host;
  await releasePort(host, options.port); // held since the app started (./port-reservation.ts): free it for this bind
  const port = await quietly(() => server.listen(`${bindHost}:${options.port}`, options.credentials)).catch((err: Error) => {
    server.forceShutdown();
    if (/EADDRINUSE|address already in use/i.test(err.message)) {
      throw grpcPortInUseError(host, options.port);
    }
    throw new Error(`cannot listen for gRPC on ${bindHost}:${options.port}: ${err.message.split('\n')[0]}`);
  });
  const unbind = bindHealth(health, names, options.readiness);
  const connectHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : bindHost;
  return {
    port,
    address: `${connectHost}:${port}`,
    health,
    server,
    async close(graceMs = 5000) {
      unbind();
      for (const name of ['', LIVENESS_SERVICE, READINESS_SERVICE, ...names]) health.setStatus('unhealthy', name);
      const timer = setTimeout(() => server.forceShutdown(), graceMs);
      try {
        await server.shutdown();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs a bind without grpc-js printing its own copy of a bind error (the caller reports it once). */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  if (process.env.GRPC_VERBOSITY) return fn();
  setLogVerbosity(logVerbosity.NONE);
  try {
    return await fn();
  } finally {
    setLogVerbosity(logVerbosity.ERROR);
  }
}

/**
 * Binds the implementation's methods and answers UNIMPLEMENTED for the ones it lacks (grpc-js would
 * otherwise refuse to register the service).
 */
function completeImplementation(definition: GrpcServiceBinding['definition'], implementation: any): Record<string, unknown> {
  const methods = (definition as { methods?: Record<string, { name: string; responseStream: boolean }> }).methods ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, m] of Object.entries(methods)) {
    const fn = implementation[key];
    if (typeof fn === 'function') {
      out[key] = guardHandler(fn.bind(implementation), m.responseStream);
      continue;
    }
    const error = () => new ServerError(Status.UNIMPLEMENTED, `Method ${m.name} is not implemented`);
    out[key] = m.responseStream
      ? async function* () {
          yield* [];
          throw error();
        }
      : async () => {
          throw error();
        };
  }
  return out;
}
