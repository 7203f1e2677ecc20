/** Attention kernels: the naive reference, the flash (tiled, online-softmax) kernel, the causal mask and the single-sequence KV cache. */
export type { AttentionShape } from './shape';
export { attentionNaive, causalMask } from './naive';
export { attentionFlash } from './flash';
export type { FlashOptions } from './flash';
export { KvCache } from './kv-cache';
