/**
 * @llm/tensor: f32/f64 tensors and the kernels of a decoder-only transformer, on flat arrays with
 * explicit sizes and the argument order (out, inputs..., sizes). The plain-TypeScript kernels are
 * the numerical reference; ONNX Runtime (./onnx) is the fast path.
 */
export * from './tensor';
export * from './matmul';
export * from './elementwise';
export * from './softmax';
export * from './norm';
export * from './rope';
export * from './select';
export * from './attention';
export * from './random';
export * from './onnx';
export * from './paged';
export * from './wasm';
