/*
 * The matmul engine every training op calls: C (M, N) (+)= op(A) · op(B).
 * Two implementations: `jsGemm` (plain loops; the float64 reference used by gradient
 * checks and tiny shapes) and the ONNX Runtime engine in ./ort-engine.ts (float32
 * training: sgemm at tens to hundreds of GFLOP/s instead of ~1 in JavaScript).
 *
 * Not a BLAS: no strides or leading dimensions; operands are dense row-major.
 * Conventions follow BLAS gemm: op(A) is (M, K), stored (M, K) or, with transA, (K, M);
 * op(B) is (K, N), stored (K, N) or, with transB, (N, K).
 */
import type { Arr } from './var';

export interface GemmOpts {
  transA?: boolean;
  transB?: boolean;
  /** Add into C instead of overwriting it (gradient accumulation). */
  accumulate?: boolean;
  /** (N) added to every row of the product (a linear layer's bias); not with accumulate. */
  bias?: Arr;
}

export interface MatmulEngine {
  readonly name: string;
  gemm(c: Arr, a: Arr, b: Arr, M: number, K: number, N: number, opts?: GemmOpts): void | Promise<void>;
  /** `batch` independent gemms over consecutive (M, N) / op-sized blocks of c, a, b. */
  bgemm(c: Arr, a: Arr, b: Arr, batch: number, M: number, K: number, N: number, opts?: GemmOpts): void | Promise<void>;
  /** Floating-point operations issued so far (2·M·K·N per call), for GFLOP/s reports. */
  flops: number;
}

function checkSizes(c: Arr, a: Arr, b: Arr, M: number, K: number, N: number): void {
  if (a.length !== M * K || b.length !== K * N || c.length !== M * N) {
    throw new Error(
      `gemm: sizes do not match M=${M} K=${K} N=${N} (A ${a.length}, B ${b.length}, C ${c.length} elements)`,
    );
  }
}

// C += A · B, A (M, K), B (K, N): i-k-j order so the inner loop streams rows of B and C.
function gemmNN(c: Arr, a: Arr, b: Arr, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const ci = i * N;
    for (let k = 0; k < K; k++) {
      const aik = a[i * K + k];
      if (aik === 0) continue;
      const bk = k * N;
      for (let j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

// C += A · Bᵀ, A (M, K), B stored (N, K): each C[i, j] is a dot product of two rows.
function gemmNT(c: Arr, a: Arr, b: Arr, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const ai = i * K;
    for (let j = 0; j < N; j++) {
      const bj = j * K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let k = 0;
      for (; k + 3 < K; k += 4) {
        s0 += a[ai + k] * b[bj + k];
        s1 += a[ai + k + 1] * b[bj + k + 1];
        s2 += a[ai + k + 2] * b[bj + k + 2];
        s3 += a[ai + k + 3] * b[bj + k + 3];
      }
      for (; k < K; k++) s0 += a[ai + k] * b[bj + k];
      c[i * N + j] += s0 + s1 + s2 + s3;
    }
  }
}

// C += Aᵀ · B, A stored (K, M), B (K, N): k-i-j order, rows of B and C streamed.
function gemmTN(c: Arr, a: Arr, b: Arr, M: number, K: number, N: number): void {
  for (let k = 0; k < K; k++) {
    const bk = k * N;
    for (let i = 0; i < M; i++) {
      const aki = a[k * M + i];
      if (aki === 0) continue;
      const ci = i * N;
      for (let j = 0; j < N; j++) c[ci + j] += aki * b[bk + j];
    }
  }
}

// C += Aᵀ · Bᵀ, A stored (K, M), B stored (N, K).
function gemmTT(c: Arr, a: Arr, b: Arr, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[k * M + i] * b[j * K + k];
      c[i * N + j] += s;
    }
  }
}

/** Plain JavaScript gemm in the dtype of its arrays (exact float64 when given Float64Array). */
export function jsGemm(c: Arr, a: Arr, b: Arr, M: number, K: number, N: number, opts: GemmOpts = {}): void {
  checkSizes(c, a, b, M, K, N);
  if (!opts.accumulate) c.fill(0);
  const { transA = false, transB = false, bias } = opts;
  if (bias) {
    if (opts.accumulate || bias.length !== N) throw new Error(`gemm: bias must have N=${N} values and cannot be combined with accumulate`);
    for (let i = 0; i < M; i++) c.set(bias, i * N);
  }
  if (!transA && !transB) gemmNN(c, a, b, M, K, N);
  else if (!transA && transB) gemmNT(c, a, b, M, K, N);
  else if (transA && !transB) gemmTN(c, a, b, M, K, N);
  else gemmTT(c, a, b, M, K, N);
}

/** The JavaScript engine: exact in float64, ~1 GFLOP/s. */
export class JsEngine implements MatmulEngine {
  readonly name = 'js';
  flops = 0;
  gemm(c: Arr, a: Arr, b: Arr, M: number, K: number, N: number, opts?: GemmOpts): void {
    this.flops += 2 * M * K * N;
    jsGemm(c, a, b, M, K, N, opts);
  }
  bgemm(c: Arr, a: Arr, b: Arr, batch: number, M: number, K: number, N: number, opts?: GemmOpts): void {
    this.flops += 2 * batch * M * K * N;
    jsBatchedGemm(c, a, b, batch, M, K, N, opts);
  }
}

/** Batched jsGemm: block i of c is op(a_i) · op(b_i). */
export function jsBatchedGemm(
  c: Arr, a: Arr, b: Arr, batch: number, M: number, K: number, N: number, opts: GemmOpts = {},
): void {
  if (a.length !== batch * M * K || b.length !== batch * K * N || c.length !== batch * M * N) {
    throw new Error(`bgemm: sizes do not match batch=${batch} M=${M} K=${K} N=${N}`);
  }
  for (let i = 0; i < batch; i++) {
    jsGemm(
      c.subarray(i * M * N, (i + 1) * M * N), a.subarray(i * M * K, (i + 1) * M * K),
      b.subarray(i * K * N, (i + 1) * K * N), M, K, N, opts,
    );
  }
}
