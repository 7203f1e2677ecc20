/** File formats: F16/BF16 conversion, safetensors read/write, Hugging Face model directories. */
export * from './dtype';
export * from './safetensors';
export * from './model-dir';
export * from './quantized-checkpoint';
