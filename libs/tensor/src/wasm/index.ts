/*
 * The platform's own WebAssembly SIMD kernels (kernels.wat, assembled into kernels-wasm.ts):
 * matrix-vector products over weights packed four rows at a time (F32, Q8_0, Q4_0 against Q8
 * activations) and one query's attention over paged K/V rows; and, where the engine runs
 * relaxed SIMD (./relaxed.ts), a faster Q4_0 product on its int8 dot product
 * (kernels-relaxed.wat). The model library runs them on threads that share one memory
 * (libs/model/src/wasm-decode).
 */
export { KERNELS_WASM_BASE64 } from './kernels-wasm';
export { KERNELS_RELAXED_WASM_BASE64 } from './kernels-relaxed-wasm';
export { relaxedKernels, checkSums, type RelaxedKernels, type RelaxedExports } from './relaxed';
