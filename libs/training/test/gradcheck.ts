/*
 * Central finite differences in float64 for the op and model gradient tests:
 * loss = Σ out ⊙ R for a fixed random R, so every output element's gradient is exercised.
 */
import { Rng } from '../src/rng';
import { backward, Var } from '../src/autograd/var';

export function randn(rng: Rng, n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

export function param(rng: Rng, shape: number[], scale = 1, name?: string): Var {
  return Var.param(randn(rng, shape.reduce((a, b) => a * b, 1), scale), shape, name);
}

/** Σ out ⊙ R as a scalar Var: the probe that turns any op into a loss. */
export function probe(out: Var, R: Float64Array): Var {
  const y = new Float64Array(1);
  for (let i = 0; i < out.size; i++) y[0] += out.data[i] * R[i];
  const v: Var = new Var(y, [], {
    parents: [out],
    backward: () => {
      const g = out.gradBuf();
      for (let i = 0; i < g.length; i++) g[i] += R[i] * v.grad![0];
    },
  });
  return v;
}

/**
 * Largest relative error between the analytic gradient of `lossFn` w.r.t. each input
 * and central differences (h = 1e-6), measured as |a − n| / max(1e-3, |a| + |n|) per entry.
 * With maxEntries, only a seeded sample of each input's entries is checked.
 */
export async function gradCheck(
  inputs: Var[],
  lossFn: () => Promise<Var> | Var,
  opts: { h?: number; maxEntries?: number; seed?: number } = {},
): Promise<number> {
  const h = opts.h ?? 1e-6;
  for (const p of inputs) p.grad = null;
  await backward(await lossFn());
  const analytic = inputs.map((p) => Float64Array.from(p.grad ?? new Float64Array(p.size)));
  const rng = new Rng(opts.seed ?? 7);
  let worst = 0;
  for (let pi = 0; pi < inputs.length; pi++) {
    const p = inputs[pi];
    const n = p.size;
    const idx = opts.maxEntries && opts.maxEntries < n ? Array.from({ length: opts.maxEntries }, () => rng.int(n)) : Array.from({ length: n }, (_, i) => i);
    for (const i of idx) {
      const old = p.data[i];
      p.data[i] = old + h;
      const lp = (await lossFn()).data[0];
      p.data[i] = old - h;
      const lm = (await lossFn()).data[0];
      p.data[i] = old;
      const num = (lp - lm) / (2 * h);
      const a = analytic[pi][i];
      const rel = Math.abs(a - num) / Math.max(1e-3, Math.abs(a) + Math.abs(num));
      worst = Math.max(worst, rel);
    }
  }
  return worst;
}
