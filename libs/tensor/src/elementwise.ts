/**
 * Element-wise kernels on flat arrays, argument order (out, inputs..., n): add, mul, scale,
 * SiLU, GELU (tanh approximation and exact erf form) and the SwiGLU product.
 * `out` may alias an input. Deliberately not: broadcasting (callers loop over rows).
 * References: SiLU (Elfwing et al. 2017), GELU (Hendrycks & Gimpel 2016) with the tanh
 * approximation GPT-2 calls "gelu_new", SwiGLU (Shazeer 2020).
 */
import { FloatArray, checkLength } from './tensor';

function check(n: number, ...arrays: Array<[string, ArrayLike<number>]>): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`element count n=${n} is invalid (expected a non-negative integer)`);
  for (const [name, arr] of arrays) checkLength(name, arr, n);
}

/** out = a + b */
export function add(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void {
  check(n, ['add out', out], ['add a', a], ['add b', b]);
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/** out = a * b */
export function mul(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void {
  check(n, ['mul out', out], ['mul a', a], ['mul b', b]);
  for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
}

/** out = s * x */
export function scale(out: FloatArray, x: FloatArray, s: number, n: number): void {
  check(n, ['scale out', out], ['scale x', x]);
  for (let i = 0; i < n; i++) out[i] = s * x[i];
}

/** out = silu(x) = x * sigmoid(x) = x / (1 + e^-x) */
export function silu(out: FloatArray, x: FloatArray, n: number): void {
  check(n, ['silu out', out], ['silu x', x]);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    out[i] = v / (1 + Math.exp(-v));
  }
}

/** out = silu(gate) * up, the SwiGLU gating of Llama-style MLPs. */
export function swiglu(out: FloatArray, gate: FloatArray, up: FloatArray, n: number): void {
  check(n, ['swiglu out', out], ['swiglu gate', gate], ['swiglu up', up]);
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    out[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = 1 / Math.SQRT2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * The error function to near double precision:
 *   |x| < 3:  Maclaurin series  erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
 *   |x| >= 3: continued fraction erfc(x) = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = x; // (-1)^n x^(2n+1) / n!
    let sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  let t = ax;
  for (let n = 60; n >= 1; n--) t = ax + n / 2 / t;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / t;
  return x > 0 ? 1 - erfc : erfc - 1;
}

export type GeluApproximation = 'tanh' | 'none';

/**
 * out = gelu(x).
 *   'none' (exact):  0.5 x (1 + erf(x / sqrt 2))
 *   'tanh':          0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (GPT-2's gelu_new)
 */
export function gelu(out: FloatArray, x: FloatArray, n: number, approximate: GeluApproximation = 'tanh'): void {
  check(n, ['gelu out', out], ['gelu x', x]);
  if (approximate === 'tanh') {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      out[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      out[i] = 0.5 * v * (1 + erf(v * INV_SQRT_2));
    }
  }
}
