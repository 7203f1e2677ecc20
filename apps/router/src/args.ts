/**
 * The router's settings, read from argv and the environment when this module loads: main.ts
 * imports it first, so `--help` and a bad flag are answered before NestJS, gRPC and ONNX Runtime load.
 */
import { appArgs } from '@llm/platform/config';
import { ROUTER_SUMMARY, routerConfigSchema } from './router.config';

export const config = appArgs('router', ROUTER_SUMMARY, routerConfigSchema);
