/*
 * Answer extraction and per-sample metrics.
 *
 *   extract      none (trimmed text) | regex (a capture group; no match -> "") | first number
 *   exact_match  extracted == target (both trimmed)                              -> 0 / 1
 *   numeric      |x - y| <= tol   (relative: |x - y| <= tol * |y|)                -> 0 / 1
 *   regex_match  the output matches the pattern                                  -> 0 / 1
 *   pass@k       1 - C(n - c, k) / C(n, k) over a sample's n repeats, c correct  (unbiased)
 *   perplexity   exp(-sum(logprob) / sum(tokens)) over the whole set (corpus level)
 *   accuracy     multiple_choice: argmax loglikelihood == gold (acc_norm: per character)
 *   trace_ok     agent runs: every trace check holds                              -> 0 / 1
 *
 * What it is not: aggregation and error bars (stats.ts).
 * Reference: lm-evaluation-harness metrics; Chen et al. 2021 (pass@k estimator).
 */
import type { TaskSpec } from './task-file';

export function extractAnswer(text: string, spec: TaskSpec['extract']): string {
  if (spec.kind === 'none') return text.trim();
  if (spec.kind === 'first_number') return /-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.replace(/,(?=\d{3})/g, ''))?.[0] ?? '';
  const m = new RegExp(spec.regex).exec(text);
  return (m?.[spec.group] ?? '').trim();
}

export function exactMatch(extracted: string, target: string): number {
  return extracted.trim() === target.trim() ? 1 : 0;
}

export function numericMatch(extracted: string, target: string, tolerance: number, relative: boolean): number {
  const x = Number(extracted.trim());
  const y = Number(target.trim());
  if (extracted.trim() === '' || !Number.isFinite(x) || !Number.isFinite(y)) return 0;
  return Math.abs(x - y) <= (relative ? tolerance * Math.abs(y) : tolerance) + 1e-12 ? 1 : 0;
}

/** Unbiased pass@k from n samples of which c are correct: 1 - prod_{i=n-c+1}^{n} (1 - k / i). */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n) throw new Error(`pass@${k} needs at least ${k} samples per problem (have ${n})`);
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** Corpus perplexity from per-sample (sum of logprobs, token count). */
export function perplexity(items: Array<{ logprob: number; tokens: number }>): number {
  const lp = items.reduce((s, x) => s + x.logprob, 0);
  const n = items.reduce((s, x) => s + x.tokens, 0);
  return n > 0 ? Math.exp(-lp / n) : NaN;
}
