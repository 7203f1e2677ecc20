export * from './model-config';
export * from './parse-config';
export * from './generation-config';
