/*
 * Matrix products with gradients, routed through a MatmulEngine (ONNX Runtime sgemm for
 * float32 training, plain loops for the float64 reference), plus the row gathers that
 * embeddings and MoE dispatch need.
 *
 * Not doing batching or broadcasting: operands are 2-D; callers flatten (B, T) into N rows.
 * Weight layout is PyTorch/HF nn.Linear: W (out, in), y = x · Wᵀ.
 */
import type { MatmulEngine } from '../autograd/engine';
import { alloc, makeOut, Var } from '../autograd/var';

function dims2(op: string, v: Var, cols: number): number {
  if (v.size % cols !== 0) throw new Error(`${op}: size ${v.size} is not a multiple of ${cols}`);
  return v.size / cols;
}

/**
 * y (N, M) = x (N, K) · Wᵀ (+ b), W (M, K), b (M).
 * Backward: dx (N, K) += dy (N, M) · W (M, K);  dW (M, K) += dyᵀ (M, N) · x (N, K);  db += Σ_rows dy.
 */
export async function linear(engine: MatmulEngine, x: Var, w: Var, b?: Var): Promise<Var> {
  if (w.shape.length !== 2) throw new Error(`linear: weight ${w.name ?? ''} must be 2-D (out, in), got [${w.shape}]`);
  const [M, K] = w.shape;
  const N = dims2(`linear(${w.name ?? ''})`, x, K);
  if (b && b.size !== M) throw new Error(`linear: bias ${b.name ?? ''} has ${b.size} values, expected ${M}`);
  const y = alloc(x.dtype, N * M);
  await engine.gemm(y, x.data, w.data, N, K, M, { transB: true, bias: b?.data });
  const out: Var = makeOut(y, [N, M], b ? [x, w, b] : [x, w], async () => {
    const dy = out.grad!;
    if (x.requiresGrad) await engine.gemm(x.gradBuf(), dy, w.data, N, M, K, { accumulate: true });
    if (w.requiresGrad) await engine.gemm(w.gradBuf(), dy, x.data, M, N, K, { transA: true, accumulate: true });
    if (b?.requiresGrad) {
      const gb = b.gradBuf();
      for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) gb[m] += dy[n * M + m];
    }
  });
  return out;
}

/**
 * c (M, N) = a (M, K) · b (K, N).
 * Backward: da += dc · bᵀ;  db += aᵀ · dc.
 */
export async function matmul(engine: MatmulEngine, a: Var, b: Var, M: number, K: number, N: number): Promise<Var> {
  if (a.size !== M * K || b.size !== K * N) throw new Error(`matmul: operands do not match M=${M} K=${K} N=${N}`);
  const c = alloc(a.dtype, M * N);
  await engine.gemm(c, a.data, b.data, M, K, N);
  const out: Var = makeOut(c, [M, N], [a, b], async () => {
    const dc = out.grad!;
    if (a.requiresGrad) await engine.gemm(a.gradBuf(), dc, b.data, M, N, K, { transB: true, accumulate: true });
    if (b.requiresGrad) await engine.gemm(b.gradBuf(), a.data, dc, K, M, N, { transA: true, accumulate: true });
  });
  return out;
}

function checkIds(op: string, ids: Int32Array, rows: number): void {
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < rows)) throw new Error(`${op}: index ${ids[i]} at position ${i} is outside [0, ${rows})`);
  }
}

/**
 * y (R, C) = x[rows] for x (N, C): the embedding lookup (x = the table) and MoE dispatch.
 * Backward: dx[rows[r]] += dy[r] (scatter-add; repeated rows accumulate).
 */
export function gatherRows(x: Var, rows: Int32Array): Var {
  if (x.shape.length !== 2) throw new Error(`gatherRows: table must be 2-D, got [${x.shape}]`);
  const [N, C] = x.shape;
  checkIds(`gatherRows(${x.name ?? ''})`, rows, N);
  const R = rows.length;
  const y = alloc(x.dtype, R * C);
  for (let r = 0; r < R; r++) y.set(x.data.subarray(rows[r] * C, rows[r] * C + C), r * C);
  const out: Var = makeOut(y, [R, C], [x], () => {
    const dy = out.grad!;
    const g = x.gradBuf();
    for (let r = 0; r < R; r++) {
      const src = r * C;
      const dst = rows[r] * C;
      for (let c = 0; c < C; c++) g[dst + c] += dy[src + c];
    }
  });
  return out;
}

/** Token embedding: (V, C) table, N ids -> (N, C). Same as gatherRows, named for readers. */
export const embedding = gatherRows;

