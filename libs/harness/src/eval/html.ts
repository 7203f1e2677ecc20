/*
 * The report as one self-contained HTML page: metrics with error bars, histograms of latency and
 * completion tokens, and a table of every sample (prompt, target, output, scores; agent traces
 * folded under each row). Chart.js (its UMD build, read from the installed package) is inlined,
 * with the report data as JSON, so the page opens offline, from a file, with no CDN.
 *
 * Error bars are drawn by a small Chart.js plugin (mean ± 1.96 stderr, the 95% interval).
 * What it is not: an interactive viewer of many runs (compare.ts compares two).
 * Reference: Chart.js 4 (bar charts, plugin hooks afterDatasetsDraw).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EvalReport } from './report';

let chartJs: string | null = null;

/** The Chart.js UMD bundle's text (once per process). */
export function chartJsSource(): string {
  if (chartJs === null) {
    const dir = dirname(require.resolve('chart.js'));
    const file = join(dir, 'chart.umd.min.js');
    if (!existsSync(file)) throw new Error(`chart.js is installed without dist/chart.umd.min.js (looked in ${dir}); reinstall chart.js 4`);
    chartJs = readFileSync(file, 'utf8');
  }
  return chartJs;
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON safe inside <script>: no "</script>" or "<!--" can close or open anything. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

function histogram(values: number[], bins = 20): { labels: string[]; counts: number[] } {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { labels: [], counts: [] };
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const width = (hi - lo) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of finite) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  return { labels: counts.map((_, i) => (lo + (i + 0.5) * width).toFixed(1)), counts };
}

function sampleRows(rep: EvalReport): string {
  return rep.samples
    .map((s) => {
      const scores = Object.entries(s.scores).filter(([k]) => k !== 'correct').map(([k, v]) => `${k}=${v}`).join(' ');
      const trace = s.trace?.length ? `<details><summary>trace (${s.trace.length} events)</summary><pre>${esc(s.trace.map((e) => JSON.stringify(e)).join('\n'))}</pre></details>` : '';
      return `<tr class="${s.scores.correct === 1 ? 'ok' : 'bad'}"><td>${esc(s.key)}</td><td><pre>${esc(s.prompt)}</pre></td><td><pre>${esc(s.target)}</pre></td>` +
        `<td><pre>${esc(s.output)}</pre>${s.error ? `<div class="err">${esc(s.error)}</div>` : ''}${trace}</td><td>${esc(s.extracted)}</td><td>${esc(scores)}</td><td>${s.latency_ms.toFixed(0)}</td></tr>`;
    })
    .join('\n');
}

export function renderHtmlReport(rep: EvalReport): string {
  const rateMetrics = Object.entries(rep.metrics).filter(([k]) => k !== 'perplexity' && k !== 'loglikelihood');
  const data = {
    metrics: { labels: rateMetrics.map(([k]) => k), values: rateMetrics.map(([, m]) => m.value), errors: rateMetrics.map(([, m]) => 1.96 * m.stderr) },
    latency: histogram(rep.latency_ms.values),
    tokens: histogram(rep.tokens.completion.values),
  };
  const metricRows = Object.entries(rep.metrics)
    .map(([k, m]) => `<tr><td>${esc(k)}</td><td>${m.value.toFixed(4)}</td><td>${m.stderr.toFixed(4)}</td><td>${m.n}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(rep.task.name)} — llm eval report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}h1{margin-bottom:0}.meta{color:#666;margin-bottom:1em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1.5em;margin:1em 0}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left}
pre{margin:0;white-space:pre-wrap;font-size:12px;max-width:40em}tr.bad td:first-child{border-left:4px solid #c33}tr.ok td:first-child{border-left:4px solid #3a3}
.err{color:#c33}table.metrics{width:auto}
</style></head><body>
<h1>${esc(rep.task.name)}</h1>
<div class="meta">${esc(rep.task.request)} · ${esc(rep.endpoint)}${rep.model ? ` · model ${esc(rep.model)}` : ''} · ${rep.n_results} results over ${rep.n_samples} samples · ${esc(rep.created)} · cache hits ${rep.cache.hits}</div>
<table class="metrics"><tr><th>metric</th><th>value</th><th>stderr</th><th>n</th></tr>${metricRows}</table>
<div class="charts"><div><canvas id="metrics"></canvas></div><div><canvas id="latency"></canvas></div><div><canvas id="tokens"></canvas></div></div>
<h2>Samples</h2>
<table><tr><th>sample</th><th>prompt</th><th>target</th><th>output</th><th>extracted</th><th>scores</th><th>ms</th></tr>
${sampleRows(rep)}
</table>
<script>${chartJsSource()}</script>
<script id="report-data" type="application/json">${scriptJson(data)}</script>
<script>
(function(){
  var d = JSON.parse(document.getElementById('report-data').textContent);
  var errorBars = { id: 'errorBars', afterDatasetsDraw: function(chart){
    var errs = chart.options.plugins.errorBars && chart.options.plugins.errorBars.errors; if (!errs) return;
    var ctx = chart.ctx, meta = chart.getDatasetMeta(0), y = chart.scales.y; ctx.save(); ctx.strokeStyle = '#222'; ctx.lineWidth = 1.5;
    meta.data.forEach(function(bar, i){ var v = chart.data.datasets[0].data[i], e = errs[i]; if (!(e > 0)) return;
      var top = y.getPixelForValue(v + e), bottom = y.getPixelForValue(Math.max(0, v - e)), x = bar.x;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.moveTo(x - 6, top); ctx.lineTo(x + 6, top); ctx.moveTo(x - 6, bottom); ctx.lineTo(x + 6, bottom); ctx.stroke(); });
    ctx.restore(); } };
  Chart.register(errorBars);
  new Chart(document.getElementById('metrics'), { type: 'bar', data: { labels: d.metrics.labels, datasets: [{ label: 'mean (95% interval)', data: d.metrics.values, backgroundColor: '#5b8def' }] },
    options: { animation: false, plugins: { title: { display: true, text: 'Metrics' }, errorBars: { errors: d.metrics.errors } }, scales: { y: { beginAtZero: true, suggestedMax: 1 } } } });
  new Chart(document.getElementById('latency'), { type: 'bar', data: { labels: d.latency.labels, datasets: [{ label: 'samples', data: d.latency.counts, backgroundColor: '#f0a04b' }] },
    options: { animation: false, plugins: { title: { display: true, text: 'Latency (ms)' } } } });
  new Chart(document.getElementById('tokens'), { type: 'bar', data: { labels: d.tokens.labels, datasets: [{ label: 'samples', data: d.tokens.counts, backgroundColor: '#62b37a' }] },
    options: { animation: false, plugins: { title: { display: true, text: 'Completion tokens' } } } });
  document.body.setAttribute('data-charts', 'ready');
})();
</script>
</body></html>
`;
}
