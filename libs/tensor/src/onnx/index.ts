/*
 * ONNX Runtime infrastructure: a graph builder over onnx-proto, the platform's session factory
 * (fixed thread settings, spinning off) and a two-input ORT matmul for kernels and benchmarks.
 * Whole-model graphs live in libs/model/src/onnx; this folder knows nothing about transformers.
 */
export * from './graph-builder';
export * from './session';
export * from './session-thread';
export * from './matmul';
export * from './quant-linear';
