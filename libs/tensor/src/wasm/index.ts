/*
 * The platform's own WebAssembly SIMD kernels (kernels.wat, assembled into kernels-wasm.ts):
 * matrix-vector products over weights packed four rows at a time (F32, Q8_0, Q4_0 against Q8
 * activations) and one query's attention over paged K/V rows. The model library runs them on
 * threads that share one memory (libs/model/src/wasm-decode).
 */
export { KERNELS_WASM_BASE64 } from './kernels-wasm';
