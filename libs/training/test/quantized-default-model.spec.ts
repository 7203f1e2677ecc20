/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * Quantization quality on the shipped default model (models/default, two-digit addition), run
 * as the server runs it (ONNX Runtime graph, the default quantized kernel) on the 500 held-out
 * problems its model card reports (evalSet(add2, 500, seed 1 + 7919)):
 *   - Q8_0 answers with the f32 model's exact-match accuracy, within its standard error;
 *   - Q8_0's greedy token equals f32's at >= 99% of answer positions (teacher-forced on the f32
 *     answers, so one disagreement does not cascade);
 *   - Q4_0's perplexity of the reference answers (+ <|endoftext|>) rises by less than 5%.
 * The f32 figures come from the same code in the same run: the expectation is independent of
 * the quantized path.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createKvPool, loadModelDir, OrtBackend, quantizeModelWeights, type FlatBatch, type LoadedModel, type QuantFormat, type StepBackend } from '@llm/model';
import { loadTokenizerJson } from '@llm/tokenizer';
import { getTask } from '../src/data/tasks';
import { evalSet } from '../src/data/task-data';

const dir = join(__dirname, '../../../models/default');
const BLOCK = 16;

/** One block per sequence (prompts + answers fit in 16 tokens). */
function poolFor(m: LoadedModel, n: number) {
  const c = m.config;
  return createKvPool({ numBlocks: n + 1, blockSize: BLOCK, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim });
}

/** Rows of seqs[s][from..] at positions from.., sequence s in block ids[s] + 1; logits at the rows `want` picks. */
function batchOf(seqs: number[][], from: number[], want: (s: number, t: number) => boolean, ids = seqs.map((_, s) => s)): { batch: FlatBatch; picked: Array<[number, number]> } {
  const tokenIds: number[] = [], positions: number[] = [], slots: number[] = [], logitRows: number[] = [];
  const picked: Array<[number, number]> = [];
  const flat = seqs.map((seq, s) => {
    const start = tokenIds.length;
    for (let t = from[s]; t < seq.length; t++) {
      if (want(s, t)) {
        logitRows.push(tokenIds.length);
        picked.push([s, t]);
      }
      tokenIds.push(seq[t]);
      positions.push(t);
      slots.push((ids[s] + 1) * BLOCK + t);
    }
    return { start, numNewTokens: seq.length - from[s], contextLen: seq.length, blockTable: Int32Array.of(ids[s] + 1) };
  });
  const i32 = (xs: number[]) => Int32Array.from(xs);
  return { batch: { tokenIds: i32(tokenIds), positions: i32(positions), slotMapping: i32(slots), seqs: flat, logitRows: i32(logitRows) }, picked };
}

const argmax = (x: Float32Array, off: number, V: number) => {
  let best = 0;
  for (let v = 1; v < V; v++) if (x[off + v] > x[off + best]) best = v;
  return best;
};

/** Greedy continuations (at most maxNew tokens, stopping after eos) of every prompt, batched. */
async function greedy(be: StepBackend, m: LoadedModel, prompts: number[][], maxNew: number, eos: number): Promise<number[][]> {
  const V = m.config.vocabSize;
  const pool = poolFor(m, prompts.length);
  const seqs = prompts.map((p) => [...p]);
  const out = prompts.map(() => [] as number[]);
  let from = seqs.map(() => 0);
  let live = seqs.map((_, s) => s);
  for (let k = 0; k < maxNew && live.length > 0; k++) {
    const { batch } = batchOf(live.map((s) => seqs[s]), live.map((s) => from[s]), (i, t) => t === seqs[live[i]].length - 1, live);
    const logits = await be.forward(batch, pool);
    from = seqs.map((q) => q.length);
    live.forEach((s, i) => {
      const tok = argmax(logits, i * V, V);
      out[s].push(tok);
      seqs[s].push(tok);
    });
    live = live.filter((s) => out[s][out[s].length - 1] !== eos);
  }
  return out;
}

/** Log-probabilities (natural log) of every target token seqs[s][t], t >= targetFrom[s], and the argmax at the row before it. */
async function teacherForced(be: StepBackend, m: LoadedModel, seqs: number[][], targetFrom: number[]) {
  const V = m.config.vocabSize;
  const { batch, picked } = batchOf(seqs, seqs.map(() => 0), (s, t) => t + 1 >= targetFrom[s] && t + 1 < seqs[s].length);
  const logits = await be.forward(batch, poolFor(m, seqs.length));
  return picked.map(([s, t], r) => {
    const off = r * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[off + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[off + v] - max);
    const target = seqs[s][t + 1];
    return { logp: logits[off + target] - max - Math.log(sum), argmax: argmax(logits, off, V), target };
  });
}

it('Q8_0 keeps the default model\'s accuracy and greedy tokens; Q4_0 keeps its perplexity', async () => {
  const f32 = await loadModelDir(dir);
  const tok = loadTokenizerJson(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const eos = f32.generation.eosTokenIds[0];
  const problems = evalSet(getTask('add2'), 500, 1 + 7919);
  const prompts = problems.map((p) => tok.encode(p.prompt));
  const answers = problems.map((p) => [...tok.encode(p.answer), eos]);
  const withWeights = (format: QuantFormat) => ({ ...f32, weights: quantizeModelWeights(f32.config, f32.weights, { format }) });
  const backends = new Map<string, OrtBackend>();
  for (const [name, m] of [['f32', f32], ['q8_0', withWeights('q8_0')], ['q4_0', withWeights('q4_0')]] as const) {
    backends.set(name, await OrtBackend.create(m, { threads: 1 }));
  }
  const report: string[] = [];
  const accuracy = async (name: string) => {
    const outs = await greedy(backends.get(name)!, f32, prompts, 5, eos);
    return outs.filter((o, i) => o.length === answers[i].length && o.every((t, j) => t === answers[i][j])).length / problems.length;
  };
  const accF32 = await accuracy('f32'), accQ8 = await accuracy('q8_0'), accQ4 = await accuracy('q4_0');
  const se = Math.sqrt((accF32 * (1 - accF32)) / problems.length);
  report.push(`exact match: f32 ${accF32}, q8_0 ${accQ8}, q4_0 ${accQ4} (standard error ${se.toFixed(4)})`);

  const f32Outs = await greedy(backends.get('f32')!, f32, prompts, 5, eos);
  const follow = prompts.map((p, i) => [...p, ...f32Outs[i]]);
  const from = prompts.map((p) => p.length);
  const refTokens = (await teacherForced(backends.get('f32')!, f32, follow, from)).map((r) => r.argmax);
  const q8Tokens = (await teacherForced(backends.get('q8_0')!, f32, follow, from)).map((r) => r.argmax);
  const agreement = q8Tokens.filter((t, i) => t === refTokens[i]).length / refTokens.length;
  report.push(`q8_0 greedy agreement with f32: ${(100 * agreement).toFixed(2)}% of ${refTokens.length} answer positions`);

  const gold = prompts.map((p, i) => [...p, ...answers[i]]);
  const ppl = async (name: string) => {
    const r = await teacherForced(backends.get(name)!, f32, gold, from);
    return Math.exp(-r.reduce((a, x) => a + x.logp, 0) / r.length);
  };
  const [pF32, pQ8, pQ4] = [await ppl('f32'), await ppl('q8_0'), await ppl('q4_0')];
  report.push(`perplexity of the answers: f32 ${pF32.toFixed(5)}, q8_0 ${pQ8.toFixed(5)} (+${(100 * (pQ8 / pF32 - 1)).toFixed(2)}%), q4_0 ${pQ4.toFixed(5)} (+${(100 * (pQ4 / pF32 - 1)).toFixed(2)}%)`);
  process.stdout.write(`${report.join('\n')}\n`);
  for (const b of backends.values()) await b.dispose();

  expect(accF32).toBeGreaterThanOrEqual(0.99); // the model card's figure, from the f32 graph
  expect(Math.abs(accQ8 - accF32)).toBeLessThanOrEqual(se + 1e-12);
  expect(agreement).toBeGreaterThanOrEqual(0.99);
  expect(pQ4 / pF32).toBeLessThan(1.05);
}, 120_000);
