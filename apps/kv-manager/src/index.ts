/*
 * apps/kv-manager: the llm.kv.v1 KvManager service (paged KV-block allocator with prefix
 * caching and copy-on-write, one pool per worker). Exports what composition roots need:
 * the module, the service, the config schema, and a plain factory for embedded mode.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { nestLogger } from '@llm/platform';
import { KvManagerConfig } from './kv-manager.config';
import { KvManagerDeps, KvManagerModule } from './kv-manager.module';
import { KvManagerService } from './kv-manager.service';

export { kvManagerConfigSchema, type KvManagerConfig } from './kv-manager.config';
export { KvManagerModule, type KvManagerDeps } from './kv-manager.module';
export { KvManagerService, KV_POOLS, KV_SWEEP_MS } from './kv-manager.service';
export { KvManagerMetrics } from './kv-manager.metrics';

/**
 * The service without a server (embedded mode: wrap `implementation` with the platform's
 * createInProcessClient). The lease sweeper runs until `close()`.
 */
export async function createKvManagerService(
  config: Pick<KvManagerConfig, 'leaseSweepMs'>,
  deps: KvManagerDeps = {},
): Promise<{ implementation: KvManagerService; close(): Promise<void> }> {
  const module = KvManagerModule.register({ host: '127.0.0.1', grpcPort: 0, leaseSweepMs: config.leaseSweepMs }, false, deps);
  const app = await NestFactory.createApplicationContext(module, { logger: nestLogger('warn'), abortOnError: false });
  await app.init();
  return { implementation: app.get(KvManagerService), close: () => app.close() };
}
