/*
 * `nx run model:bench-spec`: speculative decoding on models/default, decode tok/s at batch 1 with
 * speculation off, prompt lookup (ngram, K = 4) and the draft model models/default-draft (K = 3),
 * measured round-robin in the same run (same load) on the ModelRunner with the ONNX Runtime
 * backend, for a prompt whose output repeats (prompt lookup's case) and one whose output does not. Prints each
 * variant's tok/s, its ratio to "off" and its draft acceptance rate (accepted / proposed), checks
 * that all variants produced the same greedy tokens, and prints the load average: on a shared
 * machine absolute numbers move a lot, ratios much less. Not a test: no assertions.
 *
 * What this is not: the end-to-end bench through `llm serve` (scheduler, kv-manager, transport):
 * that is `llm bench`; this isolates the engine's step.
 * Flags: --tokens N (default 64), --rounds R (default 5), --threads T (default 2).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createModelRunner, loadModelDir, type ModelRunner, type StepSamplingParams } from '../src';
import { load, median, nowMs } from './quant-workload';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const TOKENS = arg('tokens', 64);
const ROUNDS = arg('rounds', 5);
const THREADS = arg('threads', 2);
const BLOCK = 16;
const progress = (msg: string): void => void process.stderr.write(`[spec bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const GREEDY: StepSamplingParams = {
  temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
  logitBias: new Map(), seed: 0n, sampleIndex: 0, numTopLogprobs: 0,
};

/** The repository root: the first parent holding models/default. */
function repoRoot(): string {
  let d = __dirname;
  while (!existsSync(join(d, 'models', 'default', 'config.json'))) {
    if (dirname(d) === d) throw new Error('cannot find models/default above the bench (run it from the repository)');
    d = dirname(d);
  }
  return d;
}

interface Run {
  tokens: number[];
  decodeMs: number; // after the prefill step
  drafted: number;
  accepted: number;
}

/** Greedy decode of TOKENS tokens at batch 1 (byte-level tokenizer: token = byte). */
async function decode(runner: ModelRunner, seqId: string, prompt: number[], k: number): Promise<Run> {
  const blockIds = Array.from({ length: Math.ceil((prompt.length + TOKENS + k + 1) / BLOCK) }, (_, b) => b + 1);
  const tokens: number[] = [];
  let drafted = 0, accepted = 0, t0 = 0;
  let next = { tokenIds: prompt, startPosition: 0 };
  for (let step = 0; tokens.length < TOKENS; step++) {
    const out = await runner.step({ sequences: [{ seqId, ...next, blockIds, sample: true, numSpeculativeTokens: k, state: step === 0 ? { params: GREEDY, promptTokenIds: prompt, outputTokenIds: [] } : undefined }] });
    const o = out.outputs[0];
    if (step === 0) t0 = nowMs(); // decode starts after the prefill step's first token
    drafted += o.numDraftTokens ?? 0;
    accepted += o.numAcceptedDraftTokens ?? 0;
    tokens.push(o.tokenId, ...(o.nextTokenIds ?? []));
    next = { tokenIds: [tokens[tokens.length - 1]], startPosition: prompt.length + tokens.length - 1 };
  }
  const decodeMs = nowMs() - t0;
  await runner.step({ sequences: [], releaseSeqIds: [seqId] });
  return { tokens: tokens.slice(0, TOKENS), decodeMs, drafted, accepted };
}

async function main(): Promise<void> {
  const root = repoRoot();
  progress(`loading models/default and models/default-draft (ort, ${THREADS} threads)`);
  const model = await loadModelDir(join(root, 'models', 'default'));
  const draftModel = await loadModelDir(join(root, 'models', 'default-draft'));
  const base = { backend: 'ort' as const, threads: THREADS, kvCacheBytes: 8 << 20, blockSize: BLOCK, maxBatchSequences: 8, maxBatchTokens: 1024 };
  const variants: { name: string; k: number; runner: ModelRunner }[] = [
    { name: 'off', k: 0, runner: await createModelRunner(model, base) },
    { name: 'ngram K=4', k: 4, runner: await createModelRunner(model, { ...base, speculative: { method: 'ngram' } }) },
    { name: 'draft K=3', k: 3, runner: await createModelRunner(model, { ...base, speculative: { method: 'draft', draftModel } }) },
    { name: 'draft(ts) K=3', k: 3, runner: await createModelRunner(model, { ...base, speculative: { method: 'draft', draftModel, backend: 'ts' } }) },
    { name: 'draft p>=.5 K=3', k: 3, runner: await createModelRunner(model, { ...base, speculative: { method: 'draft', draftModel, minDraftProb: 0.5 } }) },
  ];
  const enc = (s: string) => Array.from(Buffer.from(s, 'latin1'));
  // models/default only knows addition: past its answer it emits end tokens, then digits. Its
  // output is repetitive (runs of end tokens that prompt lookup copies) after a plain problem, and
  // varied after a prompt of repeated problems (it does not quote its context back).
  const workloads = [
    { name: 'repetitive output', prompt: enc('37+48=') },
    { name: 'non-repetitive output', prompt: enc('12+34=640\n12+34=640\n12+34=640\n12+34=') },
  ];
  console.log(`\nspeculative decoding on models/default: greedy decode of ${TOKENS} tokens at batch 1, ort ${THREADS} threads, median of ${ROUNDS} rounds (round-robin)`);
  console.log(`load average at start: ${load()}`);
  for (const w of workloads) {
    const runs = variants.map(() => [] as Run[]);
    for (let r = -1; r < ROUNDS; r++) {
      progress(`${w.name}: round ${r < 0 ? 'warm-up' : `${r + 1}/${ROUNDS}`}`);
      for (const [i, v] of variants.entries()) {
        const run = await decode(v.runner, `${w.name}-${r}`, w.prompt, v.k);
        if (r >= 0) runs[i].push(run);
      }
    }
    const tps = runs.map((rs) => median(rs.map((x) => (TOKENS - 1) / (x.decodeMs / 1000))));
    const same = runs.every((rs) => rs.every((x) => x.tokens.join() === runs[0][0].tokens.join()));
    console.log(`\n${w.name} (prompt of ${w.prompt.length} tokens); same greedy tokens in every variant: ${same ? 'yes' : 'NO'}`);
    console.log(`${'variant'.padEnd(16)}${'tok/s'.padStart(10)}${'x off'.padStart(9)}${'accepted/drafted'.padStart(20)}`);
    variants.forEach((v, i) => {
      const d = runs[i].reduce((a, x) => a + x.drafted, 0), a = runs[i].reduce((s, x) => s + x.accepted, 0);
      const rate = d > 0 ? `${((100 * a) / d).toFixed(1)}% of ${(d / ROUNDS).toFixed(0)}` : '-';
      console.log(`${v.name.padEnd(16)}${tps[i].toFixed(0).padStart(10)}${(tps[i] / tps[0]).toFixed(2).padStart(9)}${rate.padStart(20)}`);
    });
  }
  console.log(`\nload average at end: ${load()}`);
  for (const v of variants) await v.runner.dispose();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
