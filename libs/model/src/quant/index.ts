/*
 * Weight quantization: ggml's block formats Q8_0 and Q4_0 (one quantizeRow / dequantizeRow pair
 * each), dequantization of the other block types GGUF files carry (Q4_1, Q5_0, Q5_1, Q4_K, Q5_K,
 * Q6_K), quantized matrices and model weights, which tensors a model quantizes, and the
 * conversion of blocks into ONNX Runtime's quantized-kernel layouts.
 */
export * from './formats';
export * from './q8_0';
export * from './q4_0';
export * from './k-quants';
export * from './legacy-quants';
export * from './quantized-matrix';
export * from './quantized-weight';
export * from './quantize-model';
export * from './ort-pack';
