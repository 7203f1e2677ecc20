/**
 * NestJS lifecycle host for a gRPC server: an app's module provides GRPC_SERVER_OPTIONS (host, port)
 * and GRPC_SERVICES (definition + implementation pairs, usually built from its injectable service
 * class) and adds GrpcServerHost as a provider; the server starts on application bootstrap and drains
 * on shutdown (`app.enableShutdownHooks()` in main.ts makes SIGTERM do that).
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Readiness } from '../health';
import { startGrpcServer, type GrpcServerOptions, type GrpcServiceBinding, type RunningGrpcServer } from './server';

export const GRPC_SERVER_OPTIONS = Symbol('GRPC_SERVER_OPTIONS');
export const GRPC_SERVICES = Symbol('GRPC_SERVICES');

export interface GrpcHostOptions {
  host: string;
  port: number;
  /** Name for logs. */
  name: string;
  /** What the services' health follows (default: SERVING while the server runs). */
  readiness?: Readiness;
  /** TLS/mTLS and the API key check (see startGrpcServer); default plaintext and open. */
  credentials?: GrpcServerOptions['credentials'];
  auth?: GrpcServerOptions['auth'];
}

@Injectable()
export class GrpcServerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private running?: RunningGrpcServer;
  private readonly logger: Logger;

  constructor(
    @Inject(GRPC_SERVER_OPTIONS) private readonly options: GrpcHostOptions,
    @Inject(GRPC_SERVICES) private readonly services: GrpcServiceBinding[],
  ) {
    this.logger = new Logger(`${options.name}:grpc`);
  }

  async onApplicationBootstrap(): Promise<void> {
    const { host, port, credentials, auth, readiness } = this.options;
    this.running = await startGrpcServer({ host, port, services: this.services, credentials, auth, readiness });
    this.logger.log(`serving ${this.services.map((s) => s.definition.fullName).join(', ')} on ${this.options.host}:${this.running.port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }

  /** The bound port (after bootstrap). */
  get port(): number {
    if (!this.running) throw new Error('gRPC server is not started');
    return this.running.port;
  }

  get address(): string {
    if (!this.running) throw new Error('gRPC server is not started');
    return this.running.address;
  }
}
