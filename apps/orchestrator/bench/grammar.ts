/*
 * Constrained-decoding benchmark (`nx run orchestrator:bench-grammar`, also part of
 * `orchestrator:bench`): a SmolLM-135M-shaped model (vocab 49152) on the ONNX Runtime worker
 * backend, driven at the worker level (ModelRunner steps, as the scheduler sends them).
 *   decode tok/s at batch 1 and 32, unconstrained vs under a 20-property JSON Schema grammar
 *   (greedy; each run alternates unconstrained, constrained, constrained, unconstrained so both
 *   meet the same machine load), and the ratio (goal >= 0.9x);
 *   grammar compile time of the 20-property schema over this vocabulary: EBNF generation, engine
 *   compile fresh (goal < 50 ms) and from the cache (goal < 1 ms), and the admission check on its
 *   thread, fresh and cached; plus the mask cost per constrained step.
 * Progress goes to stderr. What it is not: an end-to-end latency benchmark (bench/main.ts).
 */
import { CompileGuard, GrammarEngine, grammarToEbnf, vocabularyOf } from '@llm/grammar';
import { bytesPerBlock, createModelRunner, type ModelRunner, type StepSamplingParams } from '@llm/model';
import { loadTokenizerJson } from '@llm/tokenizer';
import { readFileSync } from 'node:fs';
import { smolLm } from './smollm';

const BLOCK = 16;
const PROMPT = 16;
const STEPS = Number(process.env.GRAMMAR_BENCH_STEPS ?? 24);
const progress = (msg: string) => process.stderr.write(`[grammar bench] ${msg}\n`);

const SCHEMA = {
  type: 'object',
  properties: Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`field_${i}`, [{ type: 'string', maxLength: 12 }, { type: 'integer', minimum: 0, maximum: 10000 }, { type: 'boolean' }, { enum: ['red', 'green', 'blue'] }][i % 4]]),
  ),
  required: Array.from({ length: 20 }, (_, i) => `field_${i}`),
  additionalProperties: false,
};

/** The same 20 properties with unbounded strings (no counted repetition to precompute). */
const SCHEMA_UNBOUNDED = { ...SCHEMA, properties: Object.fromEntries(Object.entries(SCHEMA.properties).map(([k, v]) => [k, 'maxLength' in v ? { type: 'string' } : v])) };

const params: StepSamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: new Map(), seed: 1, sampleIndex: 0, numTopLogprobs: 0 };

let run = 0;
/** Prefills `batch` sequences, then times STEPS decode steps; returns decode tokens/s and mask ns per step. */
async function decodeRate(runner: ModelRunner, batch: number, ebnf: string | undefined): Promise<{ tokS: number; maskMsPerStep: number }> {
  run++;
  const blocksPer = Math.ceil((PROMPT + STEPS + 1) / BLOCK);
  const seqs = Array.from({ length: batch }, (_, b) => ({
    seqId: `r${run}-${b}`,
    tokens: Array.from({ length: PROMPT }, (_, i) => 256 + ((b * 7919 + i * 104729 + run * 31) % 48000)),
    blockIds: Array.from({ length: blocksPer }, (_, k) => 1 + b * blocksPer + k),
  }));
  let out = await runner.step({
    sequences: seqs.map((s) => ({ seqId: s.seqId, tokenIds: s.tokens, startPosition: 0, blockIds: s.blockIds, sample: true, state: { params, promptTokenIds: s.tokens, outputTokenIds: [], grammarEbnf: ebnf } })),
  });
  let maskNs = 0n;
  const t0 = performance.now();
  for (let step = 0; step < STEPS; step++) {
    const next = out.outputs.map((o) => o.tokenId);
    out = await runner.step({ sequences: seqs.map((s, b) => ({ seqId: s.seqId, tokenIds: [next[b]], startPosition: PROMPT + step, blockIds: s.blockIds, sample: true })) });
    maskNs += out.grammarNs;
  }
  const wallS = (performance.now() - t0) / 1000;
  await runner.step({ sequences: [], releaseSeqIds: seqs.map((s) => s.seqId) });
  return { tokS: (batch * STEPS) / wallS, maskMsPerStep: Number(maskNs) / 1e6 / STEPS };
}

async function main(): Promise<void> {
  progress('building a SmolLM-135M-shaped model (random weights) and its 49152-token vocabulary');
  const { model } = smolLm();
  const tokenizer = loadTokenizerJson(readFileSync(model.tokenizerPath as string, 'utf8'));
  const vocab = vocabularyOf(tokenizer, model.config.vocabSize, model.config.eosTokenIds);
  let t = performance.now();
  const engine = await GrammarEngine.create(vocab);
  const loadMs = performance.now() - t;
  t = performance.now();
  const ebnf = grammarToEbnf({ kind: 'json_schema', schema: SCHEMA });
  const ebnfMs = performance.now() - t;
  const fresh = await engine.compile(ebnf);
  t = performance.now();
  const cached = await engine.compile(ebnf);
  const cachedMs = performance.now() - t;
  const guard = new CompileGuard(vocab, 60_000);
  const guardFresh = await guard.check(ebnf);
  t = performance.now();
  await guard.check(ebnf);
  const guardCachedMs = performance.now() - t;
  await guard.close();
  void cached;
  const ebnfUnbounded = grammarToEbnf({ kind: 'json_schema', schema: SCHEMA_UNBOUNDED });
  const freshUnbounded = await engine.compile(ebnfUnbounded);
  progress(`compile: EBNF ${ebnfMs.toFixed(2)} ms, engine fresh ${fresh.compileMs.toFixed(1)} ms, cached ${cachedMs.toFixed(3)} ms`);

  const per = bytesPerBlock({ blockSize: BLOCK, numLayers: model.config.numLayers, numKvHeads: model.config.numKvHeads, headDim: model.config.headDim });
  const runner = await createModelRunner(model, { backend: 'ort', threads: 2, kvCacheBytes: per * (32 * Math.ceil((PROMPT + STEPS + 1) / BLOCK) + 2), blockSize: BLOCK, maxBatchSequences: 64, maxBatchTokens: 2048, grammar: engine });
  const rows: string[] = [];
  for (const batch of [1, 32]) {
    const free: number[] = [];
    const con: number[] = [];
    let mask = 0;
    for (const constrained of [false, true, true, false]) {
      progress(`batch ${batch}: ${constrained ? 'constrained' : 'unconstrained'} decode, ${STEPS} steps`);
      const r = await decodeRate(runner, batch, constrained ? ebnf : undefined);
      (constrained ? con : free).push(r.tokS);
      if (constrained) mask += r.maskMsPerStep / 2;
    }
    const f = (free[0] + free[1]) / 2;
    const c = (con[0] + con[1]) / 2;
    rows.push(`| ${batch} | ${f.toFixed(1)} | ${c.toFixed(1)} | ${(c / f).toFixed(3)}x | ${mask.toFixed(2)} |`);
  }
  await runner.dispose();
  const lines = [
    '',
    '## Constrained decoding (SmolLM-135M shape, ORT backend, 2 threads, greedy)',
    '',
    '| batch | unconstrained tok/s | constrained tok/s | ratio (goal >= 0.9x) | mask ms/step |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `| 20-property schema over 49152 tokens | ms |`,
    '|---|---|',
    `| vocabulary load (once per model) | ${loadMs.toFixed(1)} |`,
    `| JSON Schema -> EBNF | ${ebnfMs.toFixed(2)} |`,
    `| compile, fresh (goal < 50) | ${fresh.compileMs.toFixed(1)} |`,
    `| compile, cached (goal < 1) | ${cachedMs.toFixed(3)} |`,
    `| compile, fresh, the same schema with unbounded strings | ${freshUnbounded.compileMs.toFixed(1)} |`,
    `| admission check on its thread, fresh | ${guardFresh.compileMs.toFixed(1)} |`,
    `| admission check, cached | ${guardCachedMs.toFixed(3)} |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`grammar bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
