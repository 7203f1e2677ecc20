/**
 * @llm/training: reverse-mode autograd over the ops of a decoder transformer, fused
 * cross-entropy and the MoE load-balancing loss, SGD/AdamW with clipping and a
 * warmup + cosine schedule, checkpoints that resume exactly, corpus windows and synthetic
 * tasks with an exact-match evaluator, and export to a Hugging Face model directory.
 * Float64 (gradient checks, JavaScript kernels) and float32 (training, ONNX Runtime gemm).
 */
export * from './autograd/var';
export * from './autograd/engine';
export * from './autograd/ort-engine';
export * from './ops/elementwise';
export * from './ops/linear';
export * from './ops/norm';
export * from './ops/attention';
export * from './ops/moe';
export * from './loss/cross-entropy';
export * from './optim/optimizers';
export * from './optim/schedule';
export * from './rng';
export * from './model/config';
export * from './model/params';
export * from './model/forward';
export * from './model/loss';
export * from './model/trainable';
export * from './data/windows';
export * from './data/char-vocab';
export * from './data/tasks';
export * from './data/tool-task';
export * from './data/task-data';
export * from './checkpoint';
export * from './trainer';
export * from './export';
export * from './convert-gqa';
export * from './job';
