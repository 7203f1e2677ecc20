/**
 * Dense matrix products on flat row-major arrays, argument order (out, inputs..., sizes).
 *   matmul:        out (M, N) = a (M, K) @ b (K, N)
 *   matmulTransB:  out (M, N) = a (M, K) @ bT(N, K)^T   (a Linear layer: weights stored [out, in])
 * Deliberately not: BLAS. These are plain JavaScript loops arranged for the CPU cache (i-k-j order,
 * 4x4 register blocking, 4-way unrolled reductions) and reach a few GFLOP/s; the fast path for
 * large shapes is ONNX Runtime (./onnx). Sums run in double precision (JS numbers) and are rounded
 * once when stored, which makes these kernels a good reference.
 */
import { FloatArray, checkLength } from './tensor';

function checkSizes(M: number, K: number, N: number): void {
  for (const [name, v] of [['M', M], ['K', K], ['N', N]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`matmul size ${name}=${v} is invalid (expected a non-negative integer)`);
  }
}

/** out (M, N) = a (M, K) @ b (K, N). Loop order i-k-j streams rows of b; k is unrolled by 4. */
export function matmul(out: FloatArray, a: FloatArray, b: FloatArray, M: number, K: number, N: number): void {
  checkSizes(M, K, N);
  checkLength('matmul a', a, M * K);
  checkLength('matmul b', b, K * N);
  checkLength('matmul out', out, M * N);
  for (let i = 0; i < M; i++) {
    const o = i * N;
    out.fill(0, o, o + N);
    const ai = i * K;
    let k = 0;
    for (; k + 3 < K; k += 4) {
      const a0 = a[ai + k], a1 = a[ai + k + 1], a2 = a[ai + k + 2], a3 = a[ai + k + 3];
      const b0 = k * N, b1 = b0 + N, b2 = b1 + N, b3 = b2 + N;
      for (let j = 0; j < N; j++) {
        out[o + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
      }
    }
    for (; k < K; k++) {
      const a0 = a[ai + k];
      const b0 = k * N;
      for (let j = 0; j < N; j++) out[o + j] += a0 * b[b0 + j];
    }
  }
}

/** Dot product of a[ai .. ai+K) and b[bi .. bi+K), 4-way unrolled. */
function dot(a: FloatArray, ai: number, b: FloatArray, bi: number, K: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let k = 0;
  for (; k + 3 < K; k += 4) {
    s0 += a[ai + k] * b[bi + k];
    s1 += a[ai + k + 1] * b[bi + k + 1];
    s2 += a[ai + k + 2] * b[bi + k + 2];
    s3 += a[ai + k + 3] * b[bi + k + 3];
  }
  for (; k < K; k++) s0 += a[ai + k] * b[bi + k];
  return s0 + s1 + s2 + s3;
}

/**
 * out (M, N) = a (M, K) @ bT (N, K)^T, i.e. out[i, j] = sum_k a[i, k] * bT[j, k].
 * 4 rows of a x 4 rows of bT per pass: 8 loads feed 16 multiply-adds per k.
 */
export function matmulTransB(out: FloatArray, a: FloatArray, bT: FloatArray, M: number, K: number, N: number): void {
  checkSizes(M, K, N);
  checkLength('matmulTransB a', a, M * K);
  checkLength('matmulTransB bT', bT, N * K);
  checkLength('matmulTransB out', out, M * N);
  let i = 0;
  for (; i + 3 < M; i += 4) {
    const a0 = i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    let j = 0;
    for (; j + 3 < N; j += 4) {
      const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = a[a0 + k], x1 = a[a1 + k], x2 = a[a2 + k], x3 = a[a3 + k];
        const y0 = bT[b0 + k], y1 = bT[b1 + k], y2 = bT[b2 + k], y3 = bT[b3 + k];
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      const o0 = i * N + j, o1 = o0 + N, o2 = o1 + N, o3 = o2 + N;
      out[o0] = s00; out[o0 + 1] = s01; out[o0 + 2] = s02; out[o0 + 3] = s03;
      out[o1] = s10; out[o1 + 1] = s11; out[o1 + 2] = s12; out[o1 + 3] = s13;
      out[o2] = s20; out[o2 + 1] = s21; out[o2 + 2] = s22; out[o2 + 3] = s23;
      out[o3] = s30; out[o3 + 1] = s31; out[o3 + 2] = s32; out[o3 + 3] = s33;
    }
    for (; j < N; j++) {
      const bj = j * K;
      out[i * N + j] = dot(a, a0, bT, bj, K);
      out[(i + 1) * N + j] = dot(a, a1, bT, bj, K);
      out[(i + 2) * N + j] = dot(a, a2, bT, bj, K);
      out[(i + 3) * N + j] = dot(a, a3, bT, bj, K);
    }
  }
  for (; i < M; i++) rowTimesTransB(out, a, bT, i, K, N);
}

/** One row i: out[i, :] = a[i, :] @ bT^T, four rows of bT per pass sharing each a[i, k] load. */
function rowTimesTransB(out: FloatArray, a: FloatArray, bT: FloatArray, i: number, K: number, N: number): void {
  const ai = i * K, o = i * N;
  let j = 0;
  for (; j + 3 < N; j += 4) {
    const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < K; k++) {
      const x = a[ai + k];
      s0 += x * bT[b0 + k];
      s1 += x * bT[b1 + k];
      s2 += x * bT[b2 + k];
      s3 += x * bT[b3 + k];
    }
    out[o + j] = s0;
    out[o + j + 1] = s1;
    out[o + j + 2] = s2;
    out[o + j + 3] = s3;
  }
  for (; j < N; j++) out[o + j] = dot(a, ai, bT, j * K, K);
}

/**
 * A Linear layer: out (M, N) = x (M, K) @ w (N, K)^T + bias (N). `bias` may be omitted.
 * Weights use PyTorch's nn.Linear layout [out_features, in_features].
 */
export function linear(out: FloatArray, x: FloatArray, w: FloatArray, bias: FloatArray | undefined, M: number, K: number, N: number): void {
  matmulTransB(out, x, w, M, K, N);
  if (!bias) return;
  checkLength('linear bias', bias, N);
  for (let i = 0; i < M; i++) {
    const o = i * N;
    for (let j = 0; j < N; j++) out[o + j] += bias[j];
  }
}
