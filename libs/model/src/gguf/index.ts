/*
 * GGUF in and out (ggml docs/gguf.md): a bounds-checked reader with positioned reads, a
 * streaming writer, and the llama family's mapping (hyperparameters, tensor names, RoPE row
 * order, embedded tokenizers) to and from LoadedModel. loadModelDir accepts a .gguf path.
 */
export * from './types';
export * from './reader';
export * from './writer';
export * from './metadata';
export * from './tensor-data';
export * from './llama-config';
export * from './llama-tensors';
export * from './tokenizer-from-gguf';
export * from './tokenizer-to-gguf';
export * from './tokenizer-spm-to-gguf';
export * from './load-gguf';
export * from './save-gguf';
