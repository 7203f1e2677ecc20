export * from './dtype';
export * from './safetensors';
export * from './model-dir';
