/*
 * The ONNX Runtime fast path of the worker: the decoder built as ONNX graphs (one session per
 * step for dense models, one per segment between MoE layers) and OrtBackend, the `ort`
 * StepBackend that runs them over the paged KV pool.
 */
export * from './spec';
export * from './from-loaded';
export * from './step-io';
export * from './batch-split';
export * from './decoder-graph';
export * from './ort-backend';
export * from './ffn-executor';
export * from './linear-only';
