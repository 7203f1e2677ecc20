/**
 * The tokenizer-service's settings, read from argv and the environment when this module loads:
 * main.ts imports it first, so `--help` and a bad flag are answered before NestJS and gRPC load.
 */
import { appArgs } from '@llm/platform/config';
import { TOKENIZER_SERVICE_SUMMARY, tokenizerServiceConfigSchema } from './tokenizer-service.config';

export const config = appArgs('tokenizer-service', TOKENIZER_SERVICE_SUMMARY, tokenizerServiceConfigSchema);
