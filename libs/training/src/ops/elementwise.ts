/*
 * Elementwise ops and their gradients: add, bias add, multiply, scale, weighted sum of
 * scalars, SiLU and GELU (tanh form, GPT-2's "gelu_new"). Forward/backward pairs with
 * the derivative written next to the code.
 *
 * Not broadcasting in general: `addBias` is the one broadcast a transformer needs
 * ((N, D) + (D)); everything else requires equal shapes.
 */
import { alloc, makeOut, Var } from '../autograd/var';

function sameShape(op: string, a: Var, b: Var): void {
  if (a.size !== b.size || a.dtype !== b.dtype) {
    throw new Error(`${op}: operands differ ([${a.shape}] ${a.dtype} vs [${b.shape}] ${b.dtype})`);
  }
}

/** y = a + b. Backward: da += dy, db += dy. */
export function add(a: Var, b: Var): Var {
  sameShape('add', a, b);
  const y = alloc(a.dtype, a.size);
  for (let i = 0; i < y.length; i++) y[i] = a.data[i] + b.data[i];
  const out: Var = makeOut(y, [...a.shape], [a, b], () => {
    const dy = out.grad!;
    for (const p of [a, b]) {
      if (!p.requiresGrad) continue;
      const g = p.gradBuf();
      for (let i = 0; i < g.length; i++) g[i] += dy[i];
    }
  });
  return out;
}

/** y (N, D) = x (N, D) + b (D) per row. Backward: dx += dy, db += sum over rows of dy. */
export function addBias(x: Var, b: Var): Var {
  const D = b.size;
  if (x.size % D !== 0) throw new Error(`addBias: x size ${x.size} is not a multiple of bias size ${D}`);
  const N = x.size / D;
  const y = alloc(x.dtype, x.size);
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) y[n * D + d] = x.data[n * D + d] + b.data[d];
  const out: Var = makeOut(y, [...x.shape], [x, b], () => {
    const dy = out.grad!;
    if (x.requiresGrad) {
      const gx = x.gradBuf();
      for (let i = 0; i < gx.length; i++) gx[i] += dy[i];
    }
    if (b.requiresGrad) {
      const gb = b.gradBuf();
      for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) gb[d] += dy[n * D + d];
    }
  });
  return out;
}

/** y = a ⊙ b. Backward: da += dy ⊙ b, db += dy ⊙ a. */
export function mul(a: Var, b: Var): Var {
  sameShape('mul', a, b);
  const y = alloc(a.dtype, a.size);
  for (let i = 0; i < y.length; i++) y[i] = a.data[i] * b.data[i];
  const out: Var = makeOut(y, [...a.shape], [a, b], () => {
    const dy = out.grad!;
    if (a.requiresGrad) {
      const g = a.gradBuf();
      for (let i = 0; i < g.length; i++) g[i] += dy[i] * b.data[i];
    }
    if (b.requiresGrad) {
      const g = b.gradBuf();
      for (let i = 0; i < g.length; i++) g[i] += dy[i] * a.data[i];
    }
  });
  return out;
}

/** y = s · x for a constant s. Backward: dx += s · dy. */
export function scale(x: Var, s: number): Var {
  const y = alloc(x.dtype, x.size);
  for (let i = 0; i < y.length; i++) y[i] = s * x.data[i];
  const out: Var = makeOut(y, [...x.shape], [x], () => {
    const dy = out.grad!;
    const g = x.gradBuf();
    for (let i = 0; i < g.length; i++) g[i] += s * dy[i];
  });
  return out;
}

/** loss = Σ_i w_i · s_i over scalars s_i (e.g. cross-entropy + α · aux). Backward: ds_i += w_i · dloss. */
export function weightedSum(terms: Array<{ v: Var; w: number }>): Var {
  if (terms.length === 0) throw new Error('weightedSum: no terms');
  const y = alloc(terms[0].v.dtype, 1);
  for (const { v, w } of terms) {
    if (v.size !== 1) throw new Error(`weightedSum: terms must be scalars, got shape [${v.shape}]`);
    y[0] += w * v.data[0];
  }
  const out: Var = makeOut(
    y,
    [],
    terms.map((t) => t.v),
    () => {
      for (const { v, w } of terms) if (v.requiresGrad) v.gradBuf()[0] += w * out.grad![0];
    },
  );
  return out;
}

/** silu(x) = x·σ(x). Backward: dx += dy · σ(x) · (1 + x · (1 − σ(x))), σ kept from the forward pass. */
export function silu(x: Var): Var {
  const y = alloc(x.dtype, x.size);
  const sig = alloc(x.dtype, x.size);
  for (let i = 0; i < y.length; i++) {
    const s = 1 / (1 + Math.exp(-x.data[i]));
    sig[i] = s;
    y[i] = x.data[i] * s;
  }
  const out: Var = makeOut(y, [...x.shape], [x], () => {
    const dy = out.grad!;
    const g = x.gradBuf();
    for (let i = 0; i < g.length; i++) {
      const s = sig[i];
      g[i] += dy[i] * s * (1 + x.data[i] * (1 - s));
    }
  });
  return out;
}

const GELU_K = Math.sqrt(2 / Math.PI);

/** tanh(u) = 1 − 2 / (e^{2u} + 1), clamped where e^{2u} overflows (faster than Math.tanh in V8). */
function fastTanh(u: number): number {
  if (u > 20) return 1;
  if (u < -20) return -1;
  return 1 - 2 / (Math.exp(2 * u) + 1);
}

/**
 * gelu(x) = 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³) (GPT-2's gelu_new).
 * Backward: dx += dy · (0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²)).
 * tanh u is kept from the forward pass.
 */
export function gelu(x: Var): Var {
  const y = alloc(x.dtype, x.size);
  const th = alloc(x.dtype, x.size);
  for (let i = 0; i < y.length; i++) {
    const xi = x.data[i];
    const t = fastTanh(GELU_K * (xi + 0.044715 * xi * xi * xi));
    th[i] = t;
    y[i] = 0.5 * xi * (1 + t);
  }
  const out: Var = makeOut(y, [...x.shape], [x], () => {
    const dy = out.grad!;
    const g = x.gradBuf();
    for (let i = 0; i < g.length; i++) {
      const xi = x.data[i];
      const t = th[i];
      const du = GELU_K * (1 + 3 * 0.044715 * xi * xi);
      g[i] += dy[i] * (0.5 * (1 + t) + 0.5 * xi * (1 - t * t) * du);
    }
  });
  return out;
}
