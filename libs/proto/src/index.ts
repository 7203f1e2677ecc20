/**
 * The platform's gRPC contracts, generated from proto/ by ts-proto (outputServices=generic-definitions).
 * Nothing under ./gen is edited by hand: change proto/ and run `npm run proto:gen`.
 * Each service's package is exported as a namespace: `inference`, `tokenizer`, `router`, `worker`, `kv`;
 * `trace` holds the internals-trace messages those packages share.
 */
import { join } from 'node:path';

export * as inference from './gen/llm/inference/v1/inference';
export * as tokenizer from './gen/llm/tokenizer/v1/tokenizer';
export * as router from './gen/llm/router/v1/router';
export * as worker from './gen/llm/worker/v1/worker';
export * as kv from './gen/llm/kv/v1/kv';
export * as trace from './gen/llm/trace/v1/trace';

/** Path of the FileDescriptorSet of every proto file (for gRPC server reflection). */
export const DESCRIPTOR_SET_PATH = join(__dirname, 'gen', 'descriptor.binpb');

/** Fully-qualified service names, as they appear in reflection and health checks. */
export const SERVICE_NAMES = {
  inference: 'llm.inference.v1.Inference',
  tokenizer: 'llm.tokenizer.v1.Tokenizer',
  router: 'llm.router.v1.Router',
  worker: 'llm.worker.v1.Worker',
  kv: 'llm.kv.v1.KvManager',
} as const;

/** Default ports of the services (ARCHITECTURE.md's table). */
export const DEFAULT_PORTS = {
  inferenceGrpc: 50051,
  inferenceHttp: 8080,
  tokenizer: 50052,
  router: 50053,
  worker: 50054,
  kv: 50055,
} as const;
