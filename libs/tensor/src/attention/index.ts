export type { AttentionShape } from './shape';
export { attentionNaive, causalMask } from './naive';
export { attentionFlash } from './flash';
export type { FlashOptions } from './flash';
export { KvCache } from './kv-cache';
