/** The reference forward pass: Transformer, the MoE executor interface and its in-process reference, the injectable matmul. */
export { jsMatmulTransB } from './linear';
export type { MatmulTransBFn } from './linear';
export { ReferenceMoeExecutor, routeTopK } from './moe';
export type { MoeLayerExecutor, RoutingResult } from './moe';
export { Transformer } from './transformer';
export type { TransformerOptions, ForwardOptions } from './transformer';
