/*
 * The autograd value: a flat typed array with a shape, an optional gradient, and the
 * closure that pushes its gradient to its parents. Reverse mode over a DAG built eagerly
 * by the ops (define-by-run, as in micrograd / PyTorch autograd).
 *
 * Not a general tensor library: no broadcasting rules, no views, no strides. Ops take
 * flat row-major arrays with explicit sizes. Storage is Float64Array (gradient checks)
 * or Float32Array (training); every op keeps its inputs' dtype.
 *
 * Lifetime: `backward(loss)` visits the graph once in reverse topological order, adds
 * into leaf gradients (they accumulate until `zeroGrad`), then cuts every non-leaf node
 * from its parents and closure, so nothing of one step survives into the next.
 */

export type DType = 'f32' | 'f64';
export type Arr = Float32Array | Float64Array;

/** Allocates a zeroed array of the given dtype. */
export function alloc(dtype: DType, n: number): Arr {
  return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

export function dtypeOf(a: Arr): DType {
  return a instanceof Float64Array ? 'f64' : 'f32';
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export type BackwardFn = () => void | Promise<void>;

export class Var {
  /** Gradient of the loss w.r.t. `data`, same length; null until something flows into it. */
  grad: Arr | null = null;
  parents: Var[];
  backwardFn: BackwardFn | null;
  /** False for constants and for values computed only from constants: backward skips them. */
  readonly requiresGrad: boolean;
  readonly name: string | undefined;

  constructor(
    readonly data: Arr,
    readonly shape: number[],
    opts: { parents?: Var[]; backward?: BackwardFn; requiresGrad?: boolean; name?: string } = {},
  ) {
    if (data.length !== numel(shape)) {
      throw new Error(`Var ${opts.name ?? ''}: data length ${data.length} does not match shape [${shape.join(', ')}]`);
    }
    this.parents = opts.parents ?? [];
    this.backwardFn = opts.backward ?? null;
    this.requiresGrad = opts.requiresGrad ?? this.parents.some((p) => p.requiresGrad);
    this.name = opts.name;
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }

  get size(): number {
    return this.data.length;
  }

  /** The gradient buffer, allocated (zeroed) on first use; backward closures add into it. */
  gradBuf(): Arr {
    if (!this.grad) this.grad = alloc(this.dtype, this.data.length);
    return this.grad;
  }

  /** A trainable leaf (a parameter). */
  static param(data: Arr, shape: number[], name?: string): Var {
    return new Var(data, shape, { requiresGrad: true, name });
  }

  /** A constant input: gradients are never computed for it. */
  static constant(data: Arr, shape: number[]): Var {
    return new Var(data, shape, { requiresGrad: false });
  }
}

/** Builds an op's output node: parents that need no gradient are kept out of the walk. */
export function makeOut(data: Arr, shape: number[], parents: Var[], backward: BackwardFn): Var {
  const live = parents.filter((p) => p.requiresGrad);
  if (live.length === 0) return new Var(data, shape, { requiresGrad: false });
  return new Var(data, shape, { parents: live, backward, requiresGrad: true });
}

/** Reverse topological order of the nodes that `root` depends on (root first). */
function reverseTopo(root: Var): Var[] {
  const order: Var[] = [];
  const seen = new Set<Var>();
  // Iterative DFS (post-order) so deep graphs cannot overflow the call stack.
  const stack: Array<{ v: Var; i: number }> = [{ v: root, i: 0 }];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top.i < top.v.parents.length) {
      const p = top.v.parents[top.i++];
      if (!seen.has(p) && p.requiresGrad) {
        seen.add(p);
        stack.push({ v: p, i: 0 });
      }
    } else {
      order.push(top.v);
      stack.pop();
    }
  }
  return order.reverse();
}

/**
 * Backpropagates from a scalar `loss` (seed dloss = 1). Leaf gradients accumulate;
 * intermediate nodes are released afterwards (grad, parents and closure dropped).
 */
export async function backward(loss: Var): Promise<void> {
  if (loss.size !== 1) throw new Error(`backward: loss must be a scalar, got shape [${loss.shape.join(', ')}]`);
  if (!loss.requiresGrad) throw new Error('backward: loss does not depend on any parameter');
  const order = reverseTopo(loss);
  loss.gradBuf()[0] += 1;
  for (const node of order) {
    if (node.backwardFn && node.grad) await node.backwardFn();
  }
  for (const node of order) {
    if (node.parents.length || node.backwardFn) {
      node.parents = [];
      node.backwardFn = null;
      node.grad = null;
    }
  }
}

/** Clears the accumulated gradients of the given leaves. */
export function zeroGrad(params: Iterable<Var>): void {
  for (const p of params) if (p.grad) p.grad.fill(0);
}
