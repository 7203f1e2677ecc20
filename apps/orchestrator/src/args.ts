/**
 * The orchestrator's settings, read from argv and the environment when this module loads: main.ts
 * imports it first, so `--help` and a bad flag are answered before NestJS, gRPC and BullMQ load.
 */
import { appArgs } from '@llm/platform/config';
import { ORCHESTRATOR_SUMMARY, orchestratorConfigSchema } from './orchestrator.config';

export const config = appArgs('orchestrator', ORCHESTRATOR_SUMMARY, orchestratorConfigSchema);
