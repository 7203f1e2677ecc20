/*
 * `llm eval compare A B`: two reports of the same task, metric by metric: B - A, its standard
 * error, a two-sided p-value and whether the difference is significant at alpha (default 0.05).
 * When both runs scored the same samples the comparison is paired (per-sample differences),
 * which is much tighter than comparing two error bars; otherwise it is unpaired.
 *
 * What it is not: a multiple-comparison correction across many metrics.
 * Reference: stats.ts; Miller 2024, "Adding Error Bars to Evals" (paired differences).
 */
import type { EvalReport } from './report';
import { compareEstimates, mean, type Difference } from './stats';

export interface Comparison {
  task: string;
  a: { endpoint: string; model: string | null; file?: string };
  b: { endpoint: string; model: string | null; file?: string };
  metrics: Record<string, Difference>;
  warnings: string[];
}

/** Per-sample values of a metric (repeats averaged), by sample id. */
function perSample(rep: EvalReport, metric: string): Map<string, number> | undefined {
  const groups = new Map<string, number[]>();
  for (const s of rep.samples) {
    const v = s.scores[metric];
    if (v === undefined) continue;
    groups.set(s.id, [...(groups.get(s.id) ?? []), v]);
  }
  if (groups.size === 0) return undefined;
  return new Map([...groups].map(([id, xs]) => [id, mean(xs)]));
}

export function compareReports(a: EvalReport, b: EvalReport, alpha = 0.05): Comparison {
  const warnings: string[] = [];
  if (a.task.name !== b.task.name) warnings.push(`the reports are of different tasks ('${a.task.name}' and '${b.task.name}')`);
  else if (a.task.hash !== b.task.hash) warnings.push(`task '${a.task.name}' had different settings or samples in the two runs (hash ${a.task.hash} vs ${b.task.hash})`);
  const metrics: Record<string, Difference> = {};
  for (const name of Object.keys(a.metrics).filter((k) => k in b.metrics)) {
    const pa = perSample(a, name);
    const pb = perSample(b, name);
    metrics[name] = compareEstimates(a.metrics[name], b.metrics[name], pa && pb ? { a: pa, b: pb } : undefined, alpha);
  }
  if (Object.keys(metrics).length === 0) warnings.push('the reports have no metric in common');
  return { task: a.task.name, a: { endpoint: a.endpoint, model: a.model }, b: { endpoint: b.endpoint, model: b.model }, metrics, warnings };
}

/** The comparison as aligned text lines. */
export function formatComparison(c: Comparison): string {
  const lines = [`task ${c.task}: A = ${c.a.endpoint}${c.a.model ? ` (${c.a.model})` : ''}, B = ${c.b.endpoint}${c.b.model ? ` (${c.b.model})` : ''}`];
  for (const w of c.warnings) lines.push(`warning: ${w}`);
  lines.push('metric            A                  B                  B - A               p        significant');
  for (const [name, d] of Object.entries(c.metrics)) {
    const f = (x: number, se: number) => `${x.toFixed(4)} ± ${se.toFixed(4)}`.padEnd(19);
    lines.push(
      `${name.padEnd(18)}${f(d.a.value, d.a.stderr)}${f(d.b.value, d.b.stderr)}${`${d.diff >= 0 ? '+' : ''}${d.diff.toFixed(4)} ± ${d.stderr.toFixed(4)}`.padEnd(20)}` +
        `${d.p.toPrecision(3).padEnd(9)}${d.significant ? 'yes' : 'no'} (${d.paired ? `paired over ${d.nPaired} samples` : 'unpaired'})`,
    );
  }
  return lines.join('\n');
}
