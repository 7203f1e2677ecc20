// Paged KV cache kernels: slot arithmetic, K/V writes, block copies, paged flash attention.
export * from './kv-slots';
export * from './paged-attention';
