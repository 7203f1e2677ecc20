#!/usr/bin/env node
// Regenerates the saved traces the /internals page can load (apps/orchestrator/src/http/internals/
// seeds/*.json): it starts the embedded platform from the built apps (`npm run build` first) with
// --allow-trace on the ONNX Runtime backend, runs each seed's requests over HTTP and writes
// {title, description, prompt, completion, trace}. Deterministic: greedy decoding, seeded models.
//
//   node scripts/internals-seeds.mjs            (about a minute; progress on stderr)
//
// Seeds: the shipped addition model (models/default) on 37+48=; a Mixtral-shaped model (random
// weights from `llm init-model mixtral --seed 1`, BPE tokenizer with merges) routing a sentence;
// the same Mixtral model serving a prompt whose prefix another running request holds (prefix hits,
// shared blocks).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { startEmbedded } = require(join(root, 'apps/cli/dist/src/serve/embedded.js'));
const { initModelDir } = require(join(root, 'libs/model/dist/src/index.js'));
const out = join(root, 'apps/orchestrator/src/http/internals/seeds');
const say = (line) => process.stderr.write(`[seeds] ${line}\n`);
const settings = { host: '127.0.0.1', grpcPort: 0, httpPort: 0, backend: 'ort', threads: 2, kvCacheGib: 0.01, blockSize: 4, maxNumSeqs: 16, maxNumBatchedTokens: 256, allowTrace: true, logLevel: 'warn' };

async function complete(http, body) {
  const res = await fetch(`http://${http}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${res.status}: ${JSON.stringify(json)}`);
  return json;
}

function save(name, title, description, body, res) {
  const seed = { title, description, prompt: body.prompt, completion: res.choices[0].text, trace: res.trace };
  const text = `${JSON.stringify(seed)}\n`;
  writeFileSync(join(out, `${name}.json`), text);
  say(`wrote ${name}.json (${(text.length / 1024).toFixed(0)} KiB)`);
}

/** For the description: the two key positions each query of `from..` attends to most, per layer and head. */
function strongest(trace, from) {
  const lines = [];
  for (const r of trace.attention.filter((x) => x.query_position >= from)) {
    const top = r.weights.map((w, k) => [w, k]).sort((a, b) => b[0] - a[0]).slice(0, 2);
    lines.push(`L${r.layer} H${r.head} q${r.query_position}: ${top.map(([w, k]) => `${k} (${w.toFixed(2)})`).join(', ')}`);
  }
  return lines;
}

const FULL = { tokenizer: true, attention: true, kv: true, scheduler: true, sampling: { top: 5 } };

say('addition model (models/default)');
const add = await startEmbedded({ ...settings, modelDir: join(root, 'models/default'), onProgress: say });
try {
  const body = { prompt: '37+48=', max_tokens: 4, temperature: 0, trace: FULL };
  const res = await complete(add.httpAddress, body);
  if (process.argv.includes('--explain')) say(strongest(res.trace, 5).join('\n'));
  save('addition-attention', 'The addition model adds 37 + 48',
    'The shipped model writes the sum least-significant digit first (85 -> "580"). At "=" (query 5), which produces the ' +
      'units digit 5 = (7 + 8) mod 10, layer 1 attends almost only to the units digits: head 0 to "7" (position 1), heads 1-3 ' +
      'to "8" (position 4). At query 6, producing the tens digit 8 = 3 + 4 + carry, layer 1 moves to the tens digits "3" ' +
      '(position 0, head 0) and "4" (position 3, heads 2 and 3). Run with --explain to print each head\'s strongest keys.',
    body, res);
} finally {
  await add.close();
}

const tmp = mkdtempSync(join(tmpdir(), 'seeds-'));
try {
  const dir = join(tmp, 'mixtral');
  initModelDir(dir, 'mixtral', { seed: 1, overrides: { initializer_range: 0.1 } });
  say('Mixtral-shaped model (init-model mixtral, seed 1)');
  const moe = await startEmbedded({ ...settings, modelDir: dir, onProgress: say });
  try {
    const body = { prompt: 'The quick brown fox jumps over the lazy dog.', max_tokens: 6, temperature: 0, ignore_eos: true, trace: { ...FULL, moe: true, attention: { layers: [0] } } };
    save('mixtral-routing', 'A Mixtral-shaped model routes a sentence',
      'Random weights, 4 experts, 2 per token: the router sends each token to its two best experts in every layer. ' +
        'The heatmap colours each token by its first choice; the bars count the assignments per expert (load balance).',
      body, await complete(moe.httpAddress, body));
    // Prefix sharing: a request still running holds the prompt's blocks when a second one with the same prefix arrives.
    const shared = 'The quick brown fox jumps over the lazy dog. The model, the tokens';
    const running = await fetch(`http://${moe.httpAddress}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: shared, max_tokens: 60, temperature: 0, ignore_eos: true, stream: true }) });
    const reader = running.body.getReader();
    await reader.read();
    const second = { prompt: `${shared}, and the end.`, max_tokens: 4, temperature: 0, ignore_eos: true, trace: { kv: true, scheduler: true, attention: { layers: [1], heads: [0] } } };
    save('prefix-sharing', 'Two requests share a cached prefix',
      'A request arrives while another with the same opening is still running: its first blocks are prefix-cache hits ' +
        '(no attention rows were computed for them), shared with the running request (S in the block map), and the batch shows both.',
      second, await complete(moe.httpAddress, second));
    await reader.cancel();
  } finally {
    await moe.close();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
say('done');
