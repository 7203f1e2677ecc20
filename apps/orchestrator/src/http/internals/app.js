/*
 * The internals page's script: runs a prompt through POST /v1/completions with `trace` (or loads a
 * saved seed trace) and draws each part with Observable Plot (window.Plot, /internals/plot.js):
 * tokens with their merges, attention heatmaps per layer and head, expert routing and load, the KV
 * pool's block map animated over steps, the scheduler timeline, and sampling candidates.
 * Plain browser JavaScript, no framework, no network beyond this server. Every user string goes
 * through textContent (never innerHTML).
 */
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const hue = (i) => `hsl(${(i * 47) % 360} 70% 84%)`;
const STATES = ['free', 'cached', 'used', 'used_cached', 'shared'];
const STATE_COLORS = ['#edf2f7', '#bee3f8', '#fbd38d', '#f6ad55', '#fc8181'];
let kvTimer = null;

function status(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

function indexList(text) {
  const t = text.trim();
  if (!t) return [];
  return t.split(/[\s,]+/).map(Number);
}

async function run(event) {
  event.preventDefault();
  const parts = [...document.querySelectorAll('#parts input:checked')].map((i) => i.value);
  const trace = {};
  for (const p of parts) trace[p] = true;
  if (trace.attention) trace.attention = { layers: indexList($('layers').value), heads: indexList($('heads').value) };
  const body = { prompt: $('prompt').value, max_tokens: Number($('max-tokens').value), temperature: Number($('temperature').value), trace };
  const headers = { 'content-type': 'application/json' };
  if ($('api-key').value) headers.authorization = `Bearer ${$('api-key').value}`;
  status('running...');
  const t0 = performance.now();
  const res = await fetch('/v1/completions', { method: 'POST', headers, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) return status(`${res.status}: ${json.error ? json.error.message : 'request failed'}`, true);
  status(`ran in ${Math.round(performance.now() - t0)} ms`);
  render({ prompt: body.prompt, completion: json.choices[0].text, trace: json.trace });
}

async function loadSeeds() {
  const names = await (await fetch('/internals/seeds')).json();
  for (const n of names) $('seed').append(new Option(n, n));
}

async function loadSeed() {
  const name = $('seed').value;
  if (!name) return;
  const seed = await (await fetch(`/internals/seeds/${name}.json`)).json();
  $('prompt').value = seed.prompt;
  status(`${seed.title}: ${seed.description}`);
  render(seed);
}

/** Token labels by position (prompt then output), for axes. */
function positionLabels(trace) {
  const ids = [...trace.prompt_token_ids, ...trace.output_token_ids];
  const texts = new Map();
  for (const p of trace.tokenizer?.pieces ?? []) p.ids.forEach((id, i) => texts.set(id, p.texts[i]));
  for (const s of trace.sampling ?? []) texts.set(s.token_id, s.token);
  return ids.map((id, i) => `${i}:${JSON.stringify(texts.get(id) ?? String(id)).slice(1, -1)}`);
}

function render(view) {
  const t = view.trace;
  $('completion').textContent = `${view.prompt} → ${view.completion ?? ''}`;
  const labels = positionLabels(t);
  panel('panel-tokens', t.tokenizer, () => renderTokens(t.tokenizer));
  panel('panel-attention', t.attention, () => renderAttention(t, labels));
  panel('panel-moe', t.moe, () => renderMoe(t, labels));
  panel('panel-kv', t.kv, () => renderKv(t.kv));
  panel('panel-scheduler', t.scheduler, () => renderScheduler(t.scheduler));
  panel('panel-sampling', t.sampling, () => renderSampling(t.sampling));
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
}

function panel(id, part, draw) {
  const p = $(id);
  p.classList.toggle('empty', !part);
  if (part) return draw();
  for (const box of p.querySelectorAll(':scope > div:not(.controls), :scope > pre')) box.replaceChildren(); // nothing stale from an earlier view
}

function renderTokens(tok) {
  const box = $('tokens');
  box.replaceChildren();
  $('merges').textContent = 'hover a token';
  let n = 0;
  tok.pieces.forEach((p) => {
    const piece = el('span', p.special ? 'piece special' : 'piece');
    p.ids.forEach((id, i) => {
      const span = el('span', 'token', p.texts[i] || (p.text === '' ? p.tokens[i] : ''));
      span.style.background = hue(n++);
      span.title = `id ${id} (${p.tokens[i]})`;
      span.addEventListener('mouseenter', () => showMerges(p, id));
      piece.append(span);
    });
    box.append(piece);
  });
  box.dataset.count = String(n);
}

function showMerges(p, id) {
  const lines = [`piece ${JSON.stringify(p.text)} -> ids [${p.ids.join(', ')}], token ${id}`, `initial: ${p.initial.join(' ')}`];
  if (p.special) lines.push('special token: matched verbatim, no merges');
  else if (p.merges.length === 0) lines.push('no merges: every symbol is already a token');
  p.merges.forEach((m, i) => lines.push(`${i + 1}. ${m.left} + ${m.right} → ${m.merged} (rank ${m.rank})`));
  $('merges').textContent = lines.join('\n');
}

function renderAttention(t, labels) {
  const box = $('attention');
  box.replaceChildren();
  const layers = [...new Set(t.attention.map((r) => r.layer))].sort((a, b) => a - b);
  const heads = [...new Set(t.attention.map((r) => r.head))].sort((a, b) => a - b);
  if (t.attention_skipped_positions > 0) box.append(el('p', 'help', `positions 0..${t.attention_skipped_positions - 1} came from the prefix cache: no rows for them`));
  const grid = el('div', 'grid');
  grid.style.gridTemplateColumns = `repeat(${heads.length}, minmax(0, 1fr))`;
  const n = Math.max(...t.attention.map((r) => r.query_position)) + 1; // positions computed (the last sampled token never is)
  labels = labels.slice(0, n);
  const size = Math.max(140, Math.min(320, 14 * n + 60));
  for (const l of layers) {
    for (const h of heads) {
      const rows = t.attention.filter((r) => r.layer === l && r.head === h);
      const cells = rows.flatMap((r) => r.weights.map((w, k) => ({ q: r.query_position, k, w })));
      const fig = el('figure', 'attn-map');
      fig.dataset.layer = String(l);
      fig.dataset.head = String(h);
      fig.append(el('figcaption', '', `layer ${l} · head ${h} (kv head ${rows[0] ? rows[0].kv_head : '?'})`));
      fig.append(Plot.plot({
        width: size, height: size, marginLeft: n <= 24 ? 60 : 30, marginBottom: n <= 24 ? 60 : 30,
        x: { type: 'band', domain: labels.map((_, i) => i), tickFormat: (i) => (n <= 24 ? labels[i] : i % 8 === 0 ? i : ''), tickRotate: -60, label: 'key' },
        y: { type: 'band', domain: labels.map((_, i) => i), tickFormat: (i) => (n <= 24 ? labels[i] : i % 8 === 0 ? i : ''), label: 'query' },
        color: { type: 'sqrt', scheme: 'blues', domain: [0, 1] }, // sqrt: spread-out rows stay visible
        marks: [Plot.frame({ stroke: '#cbd5e0' }), Plot.cell(cells, { x: 'k', y: 'q', fill: 'w', inset: 0.5, title: (d) => `${labels[d.q]} → ${labels[d.k]}: ${d.w.toFixed(4)}` })],
      }));
      grid.append(fig);
    }
  }
  box.append(grid);
  box.dataset.layers = String(layers.length);
  box.dataset.heads = String(heads.length);
}

function renderMoe(t, labels) {
  const box = $('moe');
  box.replaceChildren();
  const cells = t.moe.map((m) => ({
    position: m.position, layer: m.layer, expert: String(m.experts[0]),
    title: `${labels[m.position]} layer ${m.layer}: experts ${m.experts.map((e, j) => `${e} (w ${m.weights[j].toFixed(3)}${m.dropped[j] ? ', dropped' : ''}, ${m.replicas[j]})`).join(', ')}\ngate: ${m.gate_probs.map((p) => p.toFixed(3)).join(' ')}`,
  }));
  const E = t.model.num_experts;
  const experts = Array.from({ length: E }, (_, e) => String(e));
  const map = el('div', 'moe-map');
  map.append(Plot.plot({
    width: Math.max(300, 18 * labels.length + 120), height: 60 + 26 * t.model.num_layers, marginBottom: 60,
    x: { type: 'band', domain: labels.map((_, i) => i), tickFormat: (i) => (labels.length <= 40 ? labels[i] : i), tickRotate: -60, label: 'token' },
    y: { type: 'band', label: 'layer' },
    color: { type: 'ordinal', domain: experts, scheme: 'tableau10', legend: true, label: 'first-choice expert' },
    marks: [Plot.cell(cells, { x: 'position', y: 'layer', fill: 'expert', inset: 1, title: 'title' })],
  }));
  const load = experts.map((e) => ({ expert: e, count: 0 }));
  for (const m of t.moe) m.experts.forEach((e, j) => { if (!m.dropped[j]) load[e].count++; });
  const loadBox = el('div', 'moe-load');
  loadBox.append(Plot.plot({
    width: Math.max(240, 40 * E + 80), height: 180, x: { label: 'expert', type: 'band', domain: experts }, y: { label: 'assignments', grid: true },
    color: { type: 'ordinal', domain: experts, scheme: 'tableau10' },
    marks: [Plot.barY(load, { x: 'expert', y: 'count', fill: 'expert', title: (d) => `expert ${d.expert}: ${d.count} token assignments` }), Plot.ruleY([0])],
  }));
  box.append(map, loadBox);
  box.dataset.tokens = String(new Set(t.moe.map((m) => m.position)).size);
  box.dataset.layers = String(new Set(t.moe.map((m) => m.layer)).size);
}

/** Block states of one step: runs expanded into an array indexed by block id (index 0 unused). */
function expandPool(step, numBlocks) {
  const states = new Array(numBlocks).fill(step.pool.length ? 'free' : 'unknown');
  let b = 1;
  for (const [state, count] of step.pool) for (let i = 0; i < count && b < numBlocks; i++) states[b++] = state;
  return states;
}

function renderKv(kv) {
  if (kvTimer) clearInterval(kvTimer);
  kvTimer = null;
  const steps = kv.steps;
  let last = 1;
  for (const s of steps) {
    s.states = expandPool(s, kv.num_blocks);
    s.states.forEach((st, b) => { if (b > 0 && st !== 'free' && st !== 'unknown') last = Math.max(last, b); });
    for (const b of s.block_table) last = Math.max(last, b);
  }
  const cols = 32;
  const shown = Math.min(kv.num_blocks - 1, Math.max(cols * 2, Math.ceil((last + 1) / cols) * cols), 4096);
  const slider = $('kv-step');
  slider.max = String(Math.max(0, steps.length - 1));
  slider.value = '0';
  const draw = () => {
    const s = steps[Number(slider.value)];
    const mine = new Set(s.block_table);
    const shared = new Set(s.shared_blocks);
    const copied = new Set(s.copies.map((c) => c.dst));
    const cells = Array.from({ length: shown }, (_, i) => {
      const b = i + 1;
      return { b, col: i % cols, row: Math.floor(i / cols), state: s.states[b], mine: mine.has(b), mark: shared.has(b) ? 'S' : copied.has(b) ? 'C' : '' };
    });
    $('kv-label').textContent = `step ${s.step} (${Number(slider.value) + 1}/${steps.length}): table [${s.block_table.join(', ')}], ${s.prefix_hit_blocks} prefix-hit blocks, ${s.num_computed_tokens} tokens computed before${s.pool_truncated ? '; pool map cut' : ''}`;
    const box = $('kv');
    box.replaceChildren(Plot.plot({
      width: cols * 22 + 40, height: Math.ceil(shown / cols) * 22 + 50, x: { axis: null }, y: { axis: null },
      color: { type: 'ordinal', domain: [...STATES, 'unknown'], range: [...STATE_COLORS, '#ffffff'], legend: true },
      marks: [
        Plot.cell(cells, { x: 'col', y: 'row', fill: 'state', stroke: (d) => (d.mine ? '#1a202c' : '#e2e8f0'), strokeWidth: (d) => (d.mine ? 2 : 0.5), title: (d) => `block ${d.b}: ${d.state}${d.mine ? ', this request' : ''}` }),
        Plot.text(cells.filter((d) => d.mark), { x: 'col', y: 'row', text: 'mark', fontWeight: 'bold' }),
      ],
    }));
    box.dataset.blocks = String(shown);
  };
  slider.oninput = draw;
  $('kv-play').onclick = () => {
    if (kvTimer) {
      clearInterval(kvTimer);
      kvTimer = null;
      return;
    }
    kvTimer = setInterval(() => {
      slider.value = String((Number(slider.value) + 1) % steps.length);
      draw();
    }, 700);
  };
  draw();
}

function renderScheduler(sched) {
  const box = $('scheduler');
  box.replaceChildren();
  const phases = sched.steps.flatMap((s) => [
    { step: String(s.step), phase: 'allocate (kv-manager)', x1: s.start_ms, x2: s.start_ms + s.allocate_ms },
    { step: String(s.step), phase: 'step (worker)', x1: s.start_ms + s.allocate_ms, x2: s.start_ms + s.allocate_ms + s.step_ms },
  ]);
  const order = sched.steps.map((s) => String(s.step));
  box.append(el('p', 'help', `${sched.steps.length} steps, ${sched.num_preemptions} preemptions of this request`));
  const timeline = el('div', 'sched-timeline');
  timeline.append(Plot.plot({
    width: 900, height: 40 + 18 * order.length, marginLeft: 60, x: { label: 'ms since admission', grid: true }, y: { domain: order, label: 'step' },
    color: { legend: true }, marks: [Plot.barX(phases, { x1: 'x1', x2: 'x2', y: 'step', fill: 'phase', title: (d) => `${d.phase}: ${(d.x2 - d.x1).toFixed(2)} ms` })],
  }));
  const batch = sched.steps.flatMap((s) => s.batch.map((b) => ({ step: String(s.step), tokens: b.tokens, who: `${b.traced ? 'this request' : 'others'} ${b.kind}` })));
  const comp = el('div', 'sched-batch');
  comp.append(Plot.plot({
    width: 900, height: 40 + 18 * order.length, marginLeft: 60, x: { label: 'tokens in the step', grid: true }, y: { domain: order, label: 'step' },
    color: { legend: true }, marks: [Plot.barX(batch, { x: 'tokens', y: 'step', fill: 'who', title: (d) => `${d.who}: ${d.tokens} tokens` })],
  }));
  box.append(timeline, comp);
  box.dataset.steps = String(sched.steps.length);
}

function renderSampling(sampling) {
  const box = $('sampling');
  box.replaceChildren();
  for (const s of sampling) {
    const row = el('div', 'sample-row');
    row.append(el('div', 'label', `pos ${s.position}: ${JSON.stringify(s.token)}${s.masked ? `\n${s.num_allowed} allowed` : ''}`));
    // labels carry the id: byte tokens that print alike stay apart
    const data = (s.masked ? s.unmasked : s.candidates).map((c) => ({ label: `${JSON.stringify(c.token).slice(1, -1)} #${c.token_id}`, prob: c.prob, kept: c.allowed !== false, chosen: c.token_id === s.token_id }));
    row.append(Plot.plot({
      width: 440, height: 24 + 16 * data.length, marginLeft: 110, x: { domain: [0, Math.max(...data.map((d) => d.prob))], nice: true, label: s.masked ? 'probability before the grammar mask' : 'probability' },
      y: { domain: data.map((d) => d.label), label: null },
      marks: [Plot.barX(data, { x: 'prob', y: 'label', fill: (d) => (d.chosen ? '#2b6cb0' : d.kept ? '#90cdf4' : '#e2e8f0'), title: (d) => `${d.label}: ${d.prob.toFixed(4)}${d.kept ? '' : ' (masked)'}` })],
    }));
    box.append(row);
  }
  box.dataset.count = String(sampling.length);
}

$('run-form').addEventListener('submit', (e) => run(e).catch((err) => status(String(err), true)));
$('load-seed').addEventListener('click', () => loadSeed().catch((err) => status(String(err), true)));
loadSeeds().catch((err) => status(`seeds: ${err}`, true));
