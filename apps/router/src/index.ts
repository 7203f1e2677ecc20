/**
 * apps/router: the llm.router.v1 Router service (MoE gating + expert FFNs, expert-sharded).
 * Exports what composition roots need: the module, service, config schema, the factory that
 * loads a model's MoE layers, the gRPC expert replica, and a Dispatch-backed MoE executor.
 */
export { RouterModule, type RouterGrpcOptions } from './router.module';
export { IdleRouterService } from './idle-router.service';
export { RouterService, ROUTER_MOE } from './router.service';
export { routerConfigSchema, parseExpertList, type RouterConfig } from './router.config';
export { RouterMoe, type RouterMoeOptions, type RouterPeer } from './router-moe';
export { createRouterMoe, loadRouterModel, routerFromModel, type RouterParts } from './router.factory';
export { buildMoeModel, type MoeModel, type MoeBuildOptions, type NamedWeight } from './moe-weights';
export { GrpcExpertReplica, peerError, type RouterClient } from './grpc-replica';
export { RouterDispatchExecutor } from './dispatch-client';
export { decodeMatrix, encodeMatrix, halfToFloat } from './tensor-codec';
