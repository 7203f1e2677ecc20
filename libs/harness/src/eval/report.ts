/*
 * The report of an evaluation run: the task, the endpoint, every metric with a bootstrap
 * standard error, latency and token statistics, and every sample's result (with agent traces).
 * Written as report.json; html.ts renders the same object as a page.
 *
 * Metrics are averaged over a sample's repeats first, so the error bar counts samples (the
 * unit drawn from the population), not repeats.
 * What it is not: the run (runner.ts) or the comparison of runs (compare.ts).
 * Reference: Inspect eval logs; lm-evaluation-harness results JSON (metric, metric_stderr).
 */
import { readFileSync } from 'node:fs';
import type { SampleResult } from './solvers';
import { passAtK, perplexity } from './metrics';
import { bootstrapMean, bootstrapStatistic, mean, type Estimate } from './stats';
import type { TaskSpec } from './task-file';

export interface Distribution {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  values: number[];
}

export interface EvalReport {
  kind: 'llm-eval-report';
  version: 1;
  task: { name: string; description: string; file: string; request: string; hash: string; repeats: number; seed: number; fewshot: number };
  endpoint: string;
  model: string | null;
  created: string;
  wall_ms: number;
  n_samples: number;
  n_results: number;
  metrics: Record<string, Estimate>;
  latency_ms: Distribution;
  tokens: { prompt: Distribution; completion: Distribution };
  cache: { hits: number; misses: number };
  errors: number;
  samples: SampleResult[];
}

export function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);
  return { mean: mean(values), p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted.length ? sorted[sorted.length - 1] : NaN, values };
}

/** Results grouped by sample id, in first-seen order. */
function byId(results: SampleResult[]): SampleResult[][] {
  const groups = new Map<string, SampleResult[]>();
  for (const r of results) groups.set(r.id, [...(groups.get(r.id) ?? []), r]);
  return [...groups.values()];
}

/** Every metric of the task with its standard error. */
export function aggregate(task: TaskSpec, results: SampleResult[]): Record<string, Estimate> {
  const groups = byId(results);
  const out: Record<string, Estimate> = {};
  const names = new Set(results.flatMap((r) => Object.keys(r.scores)));
  names.delete('correct');
  for (const name of names) {
    const perSample = groups.map((g) => mean(g.filter((r) => name in r.scores).map((r) => r.scores[name]))).filter(Number.isFinite);
    out[name] = bootstrapMean(perSample, 1000, task.seed);
  }
  for (const m of task.metrics) {
    if (m.kind === 'pass_at_k') {
      for (const k of m.k) {
        const perSample = groups.filter((g) => g.length >= k).map((g) => passAtK(g.length, g.filter((r) => r.scores.correct === 1).length, k));
        out[`pass@${k}`] = bootstrapMean(perSample, 1000, task.seed);
      }
    }
    if (m.kind === 'perplexity') {
      const items = results.filter((r) => r.logprob !== undefined).map((r) => ({ logprob: r.logprob!, tokens: r.tokens! }));
      out.perplexity = bootstrapStatistic(items, perplexity, 500, task.seed);
    }
  }
  const lls = results.filter((r) => r.logprob !== undefined).map((r) => r.logprob!);
  if (lls.length > 0) out.loglikelihood = bootstrapMean(lls, 1000, task.seed);
  return out;
}

export function buildReport(
  task: TaskSpec,
  results: SampleResult[],
  meta: { endpoint: string; model?: string; wallMs: number; nSamples: number; cache: { hits: number; misses: number } },
): EvalReport {
  return {
    kind: 'llm-eval-report',
    version: 1,
    task: { name: task.name, description: task.description, file: task.file, request: task.request, hash: task.hash, repeats: task.repeats, seed: task.seed, fewshot: task.fewshot.count },
    endpoint: meta.endpoint,
    model: meta.model ?? null,
    created: new Date().toISOString(),
    wall_ms: meta.wallMs,
    n_samples: meta.nSamples,
    n_results: results.length,
    metrics: aggregate(task, results),
    latency_ms: distribution(results.map((r) => r.latency_ms)),
    tokens: { prompt: distribution(results.map((r) => r.usage.prompt_tokens)), completion: distribution(results.map((r) => r.usage.completion_tokens)) },
    cache: meta.cache,
    errors: results.filter((r) => r.error).length,
    samples: results,
  };
}

export function readReport(file: string): EvalReport {
  let r: EvalReport;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as EvalReport;
  } catch (err) {
    throw new Error(`${file} is not a readable report (${(err as Error).message})`);
  }
  if (r?.kind !== 'llm-eval-report') throw new Error(`${file} is not an llm eval report (expected the report.json an \`llm eval\` run writes)`);
  return r;
}

/** The metric a one-line summary shows: the first the task lists that the report has. */
export function primaryMetric(report: EvalReport): string | undefined {
  const order = ['exact_match', 'numeric', 'accuracy', 'regex_match', 'trace_ok', 'pass@1', 'perplexity', 'loglikelihood'];
  return order.find((m) => m in report.metrics) ?? Object.keys(report.metrics)[0];
}
