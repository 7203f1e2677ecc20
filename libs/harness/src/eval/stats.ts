/*
 * Aggregates with error bars, and the comparison of two runs.
 *
 *   mean ± stderr      stderr by bootstrap: resample the samples with replacement B times
 *                      (seeded), stderr = sd of the B resampled means
 *   paired difference  d_i = b_i - a_i over the samples both runs scored; se = sd(d) / sqrt(n);
 *                      z = mean(d) / se; p = 2 (1 - Phi(|z|)) (normal approximation)
 *   unpaired           se = sqrt(se_a^2 + se_b^2)
 *
 * What it is not: a small-sample test (with n < 30 the normal approximation is rough; the
 * report says n so a reader can judge).
 * Reference: Efron & Tibshirani 1993 (bootstrap); Miller 2024, "Adding Error Bars to Evals".
 */
import { seededRandom } from './samples';

export interface Estimate {
  value: number;
  stderr: number;
  n: number;
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

export function sd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Mean with a bootstrap standard error (B resamples, seeded, so a report is reproducible). */
export function bootstrapMean(xs: number[], B = 1000, seed = 1): Estimate {
  const n = xs.length;
  if (n === 0) return { value: NaN, stderr: NaN, n: 0 };
  const rand = seededRandom(seed);
  const means = new Array<number>(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[Math.floor(rand() * n)];
    means[b] = s / n;
  }
  return { value: mean(xs), stderr: sd(means), n };
}

/** A statistic of the whole set (e.g. corpus perplexity) with a bootstrap standard error. */
export function bootstrapStatistic<T>(items: T[], stat: (xs: T[]) => number, B = 500, seed = 1): Estimate {
  const n = items.length;
  if (n === 0) return { value: NaN, stderr: NaN, n: 0 };
  const rand = seededRandom(seed);
  const values: number[] = [];
  for (let b = 0; b < B; b++) values.push(stat(Array.from({ length: n }, () => items[Math.floor(rand() * n)])));
  return { value: stat(items), stderr: sd(values.filter(Number.isFinite)), n };
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export interface Difference {
  a: Estimate;
  b: Estimate;
  diff: number;
  stderr: number;
  z: number;
  p: number;
  paired: boolean;
  /** Samples both runs scored (paired), else 0. */
  nPaired: number;
  significant: boolean;
}

/** B - A, paired over common sample ids when there are any, else unpaired. */
export function compareEstimates(a: Estimate, b: Estimate, perSample?: { a: Map<string, number>; b: Map<string, number> }, alpha = 0.05): Difference {
  const common = perSample ? [...perSample.a.keys()].filter((k) => perSample.b.has(k)) : [];
  let diff = b.value - a.value;
  let stderr = Math.sqrt(a.stderr ** 2 + b.stderr ** 2);
  const paired = common.length >= 2;
  if (paired) {
    const d = common.map((k) => perSample!.b.get(k)! - perSample!.a.get(k)!);
    diff = mean(d);
    stderr = sd(d) / Math.sqrt(d.length);
  }
  const z = stderr > 0 ? diff / stderr : diff === 0 ? 0 : Infinity * Math.sign(diff);
  const p = Number.isFinite(z) ? 2 * (1 - normalCdf(Math.abs(z))) : 0;
  return { a, b, diff, stderr, z, p, paired, nPaired: paired ? common.length : 0, significant: p < alpha };
}
