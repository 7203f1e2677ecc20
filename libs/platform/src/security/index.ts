/** API keys, tenant salts, the gRPC and HTTP key checks, and TLS material (see each file). */
export * from './api-keys';
export * from './auth-policy';
export * from './grpc-auth';
export * from './http-auth';
export * from './tls';
export * from './app-security';
