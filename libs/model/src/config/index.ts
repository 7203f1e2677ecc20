/** Model and generation configuration: config.json / generation_config.json <-> normalised ModelConfig / GenerationDefaults. */
export * from './model-config';
export * from './parse-config';
export * from './generation-config';
