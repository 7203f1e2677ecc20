/**
 * A minimal dense tensor: flat row-major storage (Float32Array, or Float64Array for gradient
 * and precision checks) plus a shape. The kernels of this library take raw arrays and sizes;
 * this class only carries the two together and checks shapes at the boundaries.
 * Deliberately not: a lazy graph, broadcasting, strided views or autograd.
 * Layout follows PyTorch's contiguous row-major convention.
 */

/** Storage the kernels accept: f32 for inference, f64 for finite-difference and precision checks. */
export type FloatArray = Float32Array | Float64Array;
export type DType = 'f32' | 'f64';

/** Number of elements of a shape (1 for a scalar shape []). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`shape [${shape.join(', ')}] has an invalid dimension ${d} (expected non-negative integers)`);
    n *= d;
  }
  return n;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly data: FloatArray;

  constructor(data: FloatArray, shape: readonly number[]) {
    const n = numel(shape);
    if (data.length !== n) {
      throw new Error(`tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${n}`);
    }
    this.data = data;
    this.shape = [...shape];
  }

  static zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const n = numel(shape);
    return new Tensor(dtype === 'f32' ? new Float32Array(n) : new Float64Array(n), shape);
  }

  static from(values: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    return new Tensor(dtype === 'f32' ? Float32Array.from(values) : Float64Array.from(values), shape);
  }

  get dtype(): DType {
    return this.data instanceof Float64Array ? 'f64' : 'f32';
  }

  get size(): number {
    return this.data.length;
  }

  /** Same data, new shape (no copy); the element count must match. */
  reshape(shape: readonly number[]): Tensor {
    return new Tensor(this.data, shape);
  }

  /** A copy in the requested dtype. */
  to(dtype: DType): Tensor {
    return new Tensor(dtype === 'f32' ? Float32Array.from(this.data) : Float64Array.from(this.data), this.shape);
  }

  /** Element at a multi-index (slow path, for tests and debugging). */
  get(...index: number[]): number {
    return this.data[this.offset(index)];
  }

  set(value: number, ...index: number[]): void {
    this.data[this.offset(index)] = value;
  }

  private offset(index: number[]): number {
    if (index.length !== this.shape.length) {
      throw new Error(`index has ${index.length} dims but tensor has shape [${this.shape.join(', ')}]`);
    }
    let off = 0;
    for (let d = 0; d < index.length; d++) {
      const i = index[d];
      if (i < 0 || i >= this.shape[d]) throw new Error(`index ${i} out of range for dim ${d} of size ${this.shape[d]}`);
      off = off * this.shape[d] + i;
    }
    return off;
  }
}

/** Throws a clear error when a kernel argument is too short for the sizes given. */
export function checkLength(name: string, arr: ArrayLike<number>, needed: number): void {
  if (arr.length < needed) throw new Error(`${name} has ${arr.length} elements, expected at least ${needed}`);
}
