/**
 * @llm/moe — mixture-of-experts gating, dispatch/combine, expert parallelism and load statistics.
 * Pure library: plain typed arrays in and out, no transport, no file IO.
 */
export { MoeInputError } from './errors';
export { resolveGating, routerLogits, gateTokens } from './gating';
export type { GatingConfig, ResolvedGating, Routing, ScoringFunction } from './gating';
export { moeShapeFromHfConfig } from './hf-config';
export type { MoeShape } from './hf-config';
export { planDispatch, expertCapacity, groupByExpert } from './dispatch';
export type { DispatchPlan, ExpertGroups } from './dispatch';
export { JsExpertFfn, jsExpertBackend, checkExpertWeights } from './expert-ffn';
export type { ExpertFfn, ExpertBackend, ExpertWeights } from './expert-ffn';
export { ExpertHost, combineInto, slotGroupsToRows } from './expert-host';
export type { ExpertHostOptions, ExpertRows, ExpertRowsRequest } from './expert-host';
export { MoeGate } from './gate';
export type { MoeGateOptions } from './gate';
export { LocalExpertReplica } from './replica';
export type { ExpertReplica } from './replica';
export { expertOwners, splitByReplica, gatherRows } from './fanout';
export type { ReplicaPart } from './fanout';
export { MoeExecutor } from './executor';
export type { MoeExecutorOptions, MoeDispatchResult, RowRouting } from './executor';
export { MoeLayer, inProcessMoeExecutor, localReplica } from './moe-layer';
export type { MoeLayerOptions } from './moe-layer';
export { MoeLoadStats, auxLoss } from './stats';
export type { ExpertLoad, LayerLoad } from './stats';
export { OrtExpertFfn, ortExpertBackend, buildExpertGraph } from './ort-expert-ffn';
