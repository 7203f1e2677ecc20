/**
 * The light entry `@llm/platform/config`: the settings loader, the shared settings and the apps'
 * argument handling, with no transport imports, so `--help` answers before gRPC or NestJS load.
 */
export * from './loader';
export * from './app-args';
export * from './shared-settings';
