/*
 * @llm/orchestrator: the public API (gRPC llm.inference.v1 and OpenAI-compatible HTTP), request
 * intake (direct, or BullMQ in distributed mode) and the continuous-batching scheduler.
 * The composition root calls createOrchestrator with clients of the other services.
 */
export * from './orchestrator.config';
export * from './orchestrator.factory';
export * from './orchestrator.module';
export { InferenceService } from './api/inference.service';
export type { ModelFacts } from './api/model-facts';
export { Scheduler, type SchedulerOptions, type SchedulerStats } from './scheduler/scheduler';
export { Sequence, type SequenceInit } from './scheduler/sequence';
export { planStep, type PlannedSequence, type PlanLimits } from './scheduler/planner';
export { StopStringMatcher } from './scheduler/stop-matcher';
export { OutputText } from './scheduler/output-text';
export type { SampleDelta, SampleSampling, StopRules, FinishReason } from './scheduler/types';
export { DEFAULT_CHAT_TEMPLATE, DEFAULT_CHAT_STOP } from './http/chat-template';
export * from './http/schemas';
export * from './api/request-rules';
