/**
 * The attention worker's settings, read from argv and the environment when this module loads:
 * main.ts imports it first, so `--help` and a bad flag are answered before NestJS, gRPC and ONNX
 * Runtime load.
 */
import { appArgs } from '@llm/platform/config';
import { WORKER_SUMMARY, workerConfigSchema } from './attention-worker.config';

export const config = appArgs('attention-worker', WORKER_SUMMARY, workerConfigSchema);
