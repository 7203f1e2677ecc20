/**
 * The kv-manager's settings, read from argv and the environment when this module loads: main.ts
 * imports it first, so `--help` and a bad flag are answered before NestJS and gRPC load.
 */
import { appArgs } from '@llm/platform/config';
import { KV_MANAGER_SUMMARY, kvManagerConfigSchema } from './kv-manager.config';

export const config = appArgs('kv-manager', KV_MANAGER_SUMMARY, kvManagerConfigSchema);
