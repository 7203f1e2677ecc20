/**
 * The one matrix product the forward pass needs, y = x W^T + b with W in nn.Linear layout
 * [out, in], behind an injectable function so the same reference forward can run its matmuls on
 * ONNX Runtime (e.g. `OrtMatMul` with transB) in benchmarks. The default is the plain
 * TypeScript kernel of @llm/tensor.
 */
import { matmulTransB } from '@llm/tensor';

/** out (M, N) = a (M, K) @ bT (N, K)^T, as a fresh array. */
export type MatmulTransBFn = (a: Float32Array, bT: Float32Array, M: number, K: number, N: number) => Float32Array | Promise<Float32Array>;

export const jsMatmulTransB: MatmulTransBFn = (a, bT, M, K, N) => {
  const out = new Float32Array(M * N);
  matmulTransB(out, a, bT, M, K, N);
  return out;
};

export interface LinearWeights {
  weight: Float32Array; // (out, in)
  bias?: Float32Array; // (out)
  out: number;
  in: number;
}

/** y (T, out) = x (T, in) W^T + b */
export async function applyLinear(mm: MatmulTransBFn, x: Float32Array, lin: LinearWeights, T: number): Promise<Float32Array> {
  const y = await mm(x, lin.weight, T, lin.in, lin.out);
  const b = lin.bias;
  if (b) {
    for (let t = 0; t < T; t++) {
      const o = t * lin.out;
      for (let j = 0; j < lin.out; j++) y[o + j] += b[j];
    }
  }
  return y;
}
