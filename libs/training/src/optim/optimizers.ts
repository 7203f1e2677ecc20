/*
 * Optimisers over named parameters, with their whole state exportable for checkpoints:
 *   SGD with momentum (PyTorch form):  b = μ·b + g;  p −= lr·b
 *   AdamW (Loshchilov & Hutter 2019):  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
 *       m̂ = m / (1 − β1^t);  v̂ = v / (1 − β2^t)
 *       p −= lr·wd·p  (decoupled decay, matrices only, as nanoGPT);  p −= lr · m̂ / (sqrt(v̂) + ε)
 * plus gradient clipping by global L2 norm.
 *
 * Not holding the learning rate: the caller passes it per step (see ./schedule.ts).
 */
import type { Arr, Var } from '../autograd/var';

export interface OptimizerState {
  kind: 'sgd' | 'adamw';
  step: number;
  /** Per parameter name: the optimiser's buffers (momentum; or m and v), same length as the parameter. */
  buffers: Record<string, Arr[]>;
}

export interface Optimizer {
  readonly kind: 'sgd' | 'adamw';
  /** Steps taken so far (t in the bias correction). */
  readonly numSteps: number;
  step(lr: number): void;
  state(): OptimizerState;
  load(state: OptimizerState): void;
}

type Named = Array<[string, Var]>;

function loadBuffers(kind: string, params: Named, state: OptimizerState, count: number): Map<string, Arr[]> {
  if (state.kind !== kind) throw new Error(`optimizer state is ${state.kind}, expected ${kind}`);
  const out = new Map<string, Arr[]>();
  for (const [name, p] of params) {
    const bufs = state.buffers[name];
    if (!bufs || bufs.length !== count || bufs.some((b) => b.length !== p.size)) {
      throw new Error(`optimizer state has no matching buffers for parameter ${name} (expected ${count} x ${p.size})`);
    }
    out.set(name, bufs.map((b) => Float64Array.from(b)));
  }
  return out;
}

export class Sgd implements Optimizer {
  readonly kind = 'sgd' as const;
  numSteps = 0;
  private momentum = new Map<string, Arr>();

  constructor(
    private readonly params: Named,
    private readonly opts: { momentum?: number; weightDecay?: number } = {},
  ) {
    for (const [name, p] of params) this.momentum.set(name, new Float64Array(p.size));
  }

  step(lr: number): void {
    const mu = this.opts.momentum ?? 0.9;
    const wd = this.opts.weightDecay ?? 0;
    for (const [name, p] of this.params) {
      if (!p.grad) continue;
      const b = this.momentum.get(name)!;
      for (let i = 0; i < p.size; i++) {
        const g = p.grad[i] + wd * p.data[i];
        b[i] = mu * b[i] + g;
        p.data[i] -= lr * b[i];
      }
    }
    this.numSteps++;
  }

  state(): OptimizerState {
    const buffers: Record<string, Arr[]> = {};
    for (const [name] of this.params) buffers[name] = [this.momentum.get(name)!];
    return { kind: 'sgd', step: this.numSteps, buffers };
  }

  load(state: OptimizerState): void {
    const m = loadBuffers('sgd', this.params, state, 1);
    this.momentum = new Map([...m].map(([k, v]) => [k, v[0]]));
    this.numSteps = state.step;
  }
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class AdamW implements Optimizer {
  readonly kind = 'adamw' as const;
  numSteps = 0;
  private m = new Map<string, Arr>();
  private v = new Map<string, Arr>();

  constructor(
    private readonly params: Named,
    private readonly opts: AdamWOptions = {},
  ) {
    for (const [name, p] of params) {
      this.m.set(name, new Float64Array(p.size));
      this.v.set(name, new Float64Array(p.size));
    }
  }

  step(lr: number): void {
    const b1 = this.opts.beta1 ?? 0.9;
    const b2 = this.opts.beta2 ?? 0.999;
    const eps = this.opts.eps ?? 1e-8;
    const wd = this.opts.weightDecay ?? 0.01;
    const t = ++this.numSteps;
    const c1 = 1 - Math.pow(b1, t);
    const c2 = 1 - Math.pow(b2, t);
    for (const [name, p] of this.params) {
      if (!p.grad) continue;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const decay = p.shape.length >= 2 ? lr * wd : 0; // no decay on norms and biases
      for (let i = 0; i < p.size; i++) {
        const g = p.grad[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        p.data[i] -= decay * p.data[i] + (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
      }
    }
  }

  state(): OptimizerState {
    const buffers: Record<string, Arr[]> = {};
    for (const [name] of this.params) buffers[name] = [this.m.get(name)!, this.v.get(name)!];
    return { kind: 'adamw', step: this.numSteps, buffers };
  }

  load(state: OptimizerState): void {
    const mv = loadBuffers('adamw', this.params, state, 2);
    this.m = new Map([...mv].map(([k, b]) => [k, b[0]]));
    this.v = new Map([...mv].map(([k, b]) => [k, b[1]]));
    this.numSteps = state.step;
  }
}

/**
 * Scales all gradients so that their global L2 norm is at most maxNorm:
 * g ← g · min(1, maxNorm / (‖g‖ + 1e-6)). Returns the norm before clipping.
 */
export function clipGradNorm(params: Iterable<Var>, maxNorm: number): number {
  const list = [...params];
  let ss = 0;
  for (const p of list) if (p.grad) for (let i = 0; i < p.grad.length; i++) ss += p.grad[i] * p.grad[i];
  const norm = Math.sqrt(ss);
  if (maxNorm > 0 && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of list) if (p.grad) for (let i = 0; i < p.grad.length; i++) p.grad[i] *= s;
  }
  return norm;
}

