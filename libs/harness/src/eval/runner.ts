/*
 * Running a task against an endpoint: samples x repeats through the solvers, a few at a time,
 * each finished result appended at once to OUT/results.jsonl. A run started again with the same
 * OUT keeps what is there and does only the rest (resume); responses are also cached (cache.ts),
 * so even a fresh OUT costs no model call for what was asked before.
 *
 * When the endpoint fails (after its retries) no new sample is started, the ones in flight
 * finish, and EvalInterruptedError says in one line what failed, how many samples are kept and
 * how to resume. At the end the report is written as report.json and report.html.
 * What it is not: a scheduler across machines; BullMQ eval jobs would call this.
 * Reference: Inspect's eval runner (log per run, retry of unfinished samples).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelClient } from '../client/types';
import type { Tool } from '../tools/registry';
import { CachedClient, ResponseCache } from './cache';
import { renderHtmlReport } from './html';
import { buildReport, primaryMetric, type EvalReport } from './report';
import { fewshotPrefix, readSamples, TaskTemplates, type Sample } from './samples';
import { solve, type SampleResult } from './solvers';
import type { TaskSpec } from './task-file';

export interface EvalProgress {
  done: number;
  total: number;
  /** Finished in an earlier run (resumed). */
  resumed: number;
  /** Running mean of the per-sample `correct` score. */
  correct: number;
  cacheHits: number;
  elapsedMs: number;
  etaMs: number;
}

export interface EvalRunOptions {
  task: TaskSpec;
  client: ModelClient;
  model?: string;
  outDir: string;
  /** Response cache folder (default OUT/cache); null for none. */
  cacheDir?: string | null;
  concurrency?: number;
  /** Only the first N samples. */
  limit?: number;
  extraTools?: Tool[];
  onProgress?: (p: EvalProgress) => void;
}

export class EvalInterruptedError extends Error {
  constructor(
    message: string,
    readonly done: number,
    readonly total: number,
  ) {
    super(message);
    this.name = 'EvalInterruptedError';
  }
}

interface RunMeta {
  task: string;
  hash: string;
  endpoint: string;
  model: string | null;
}

function checkOut(outDir: string, meta: RunMeta): void {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'run.json');
  if (existsSync(file)) {
    const old = JSON.parse(readFileSync(file, 'utf8')) as RunMeta;
    if (old.hash !== meta.hash || old.task !== meta.task) {
      throw new Error(`${outDir} holds results of task '${old.task}' with other settings or samples (hash ${old.hash}, now ${meta.hash}); use a new --out, or delete it to start over`);
    }
    if (old.endpoint !== meta.endpoint || old.model !== meta.model) {
      throw new Error(`${outDir} holds results from ${old.endpoint}${old.model ? ` (${old.model})` : ''}, not ${meta.endpoint}; use a new --out for another endpoint`);
    }
  }
  writeFileSync(file, `${JSON.stringify(meta, null, 2)}\n`);
}

function readResults(file: string): SampleResult[] {
  if (!existsSync(file)) return [];
  const out: SampleResult[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as SampleResult);
    } catch {
      // a torn last line after a crash: that sample is done again
    }
  }
  return out;
}

export async function runEval(opts: EvalRunOptions): Promise<EvalReport> {
  const { task } = opts;
  const t0 = performance.now();
  const meta: RunMeta = { task: task.name, hash: task.hash, endpoint: opts.client.endpoint, model: opts.model ?? null };
  checkOut(opts.outDir, meta);
  const all = readSamples(task.samplesFile);
  const samples = opts.limit ? all.slice(0, opts.limit) : all;
  const pool: Sample[] = task.fewshot.samplesFile ? readSamples(task.fewshot.samplesFile) : all;
  const templates = new TaskTemplates(task);
  const resultsFile = join(opts.outDir, 'results.jsonl');
  const wanted = new Set(samples.flatMap((s) => Array.from({ length: task.repeats }, (_, r) => `${s.id}#${r}`)));
  const results = readResults(resultsFile).filter((r) => wanted.has(r.key));
  const doneKeys = new Set(results.map((r) => r.key));
  const cached = opts.cacheDir === null ? null : new CachedClient(opts.client, new ResponseCache(opts.cacheDir ?? join(opts.outDir, 'cache')));
  const client = cached ?? opts.client;
  const work: Array<{ sample: Sample; index: number; repeat: number }> = [];
  samples.forEach((sample, index) => {
    for (let repeat = 0; repeat < task.repeats; repeat++) if (!doneKeys.has(`${sample.id}#${repeat}`)) work.push({ sample, index, repeat });
  });
  const total = wanted.size;
  const resumed = results.length;
  let failure: { error: Error; key: string } | null = null;
  let next = 0;
  const report = () => {
    const done = results.length;
    const elapsed = performance.now() - t0;
    const fresh = done - resumed;
    opts.onProgress?.({
      done, total, resumed, correct: done ? results.reduce((s, r) => s + (r.scores.correct ?? 0), 0) / done : 0,
      cacheHits: cached?.hits ?? 0, elapsedMs: elapsed, etaMs: fresh > 0 ? (elapsed / fresh) * (total - done) : NaN,
    });
  };
  report();
  const worker = async () => {
    while (!failure && next < work.length) {
      const item = work[next++];
      try {
        const prefix = fewshotPrefix(task, templates, pool, item.sample, item.index);
        const r = await solve({ task, templates, client, model: opts.model, extraTools: opts.extraTools }, item.sample, prefix, item.repeat);
        appendFileSync(resultsFile, `${JSON.stringify(r)}\n`);
        results.push(r);
        report();
      } catch (err) {
        failure ??= { error: err as Error, key: `${item.sample.id}#${item.repeat}` };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 8, work.length)) }, worker));
  if (failure) {
    const f = failure as { error: Error; key: string };
    throw new EvalInterruptedError(
      `sample '${f.key}' failed: ${f.error.message}; ${results.length} of ${total} samples are finished and kept in ${resultsFile}; run the same command again to resume`,
      results.length,
      total,
    );
  }
  const order = new Map([...wanted].map((k, i) => [k, i]));
  results.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
  const rep = buildReport(task, results, { endpoint: opts.client.endpoint, model: opts.model, wallMs: performance.now() - t0, nSamples: samples.length, cache: { hits: cached?.hits ?? 0, misses: cached?.misses ?? 0 } });
  writeFileSync(join(opts.outDir, 'report.json'), `${JSON.stringify(rep, null, 1)}\n`);
  writeFileSync(join(opts.outDir, 'report.html'), renderHtmlReport(rep));
  return rep;
}

/** One line: the primary metric with its standard error. */
export function summaryLine(rep: EvalReport): string {
  const name = primaryMetric(rep);
  const m = name ? rep.metrics[name] : undefined;
  const pct = m && name !== 'perplexity' && name !== 'loglikelihood';
  const value = !m ? 'n/a' : pct ? `${(100 * m.value).toFixed(2)}% ± ${(100 * m.stderr).toFixed(2)}` : `${m.value.toFixed(4)} ± ${m.stderr.toFixed(4)}`;
  return `${rep.task.name}: ${name} ${value} (n=${m?.n ?? 0}, ${rep.n_results} results, cache hits ${rep.cache.hits})`;
}
