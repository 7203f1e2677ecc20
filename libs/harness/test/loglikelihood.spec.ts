/*
 * loglikelihood tasks against the model library's reference forward: an OpenAI-style endpoint
 * that answers `echo` with prompt logprobs computed by the reference Transformer of a
 * random-weight model (log-softmax of each position's logits at the next prompt token). The
 * harness's score of each target equals the sum of the target tokens' log-probabilities computed
 * here directly from the same forward (1e-4), and an endpoint that ignores `echo` is refused.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModelDir, loadModelDir, Transformer } from '@llm/model';
import { loadTokenizerJson, type Tokenizer } from '@llm/tokenizer';
import { loadTaskFile, OpenAiHttpClient, runEval } from '../src';
import { startScriptedServer, type ScriptedServer } from '../src/testing';

let dir: string;
let server: ScriptedServer;
let tf: Transformer;
let tok: Tokenizer;
let V: number;

/** log p(ids[t] | ids[<t]) for t >= 1, from one forward over the whole sequence. */
async function tokenLogprobs(ids: number[]): Promise<number[]> {
  const logits = await tf.forward(ids); // (T, V)
  const out: number[] = [];
  for (let t = 1; t < ids.length; t++) {
    const row = logits.subarray((t - 1) * V, t * V);
    let m = -Infinity;
    for (const x of row) m = Math.max(m, x);
    let z = 0;
    for (const x of row) z += Math.exp(x - m);
    out.push(row[ids[t]] - m - Math.log(z)); // log_softmax(row)[next]
  }
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'harness-ll-'));
  initModelDir(join(dir, 'model'), 'llama', { seed: 5 });
  const m = await loadModelDir(join(dir, 'model'));
  tf = new Transformer(m.config, m.weights);
  V = m.config.vocabSize;
  tok = loadTokenizerJson(readFileSync(join(dir, 'model', 'tokenizer.json'), 'utf8'));
  server = await startScriptedServer({
    completion: async (body) => {
      const ids = tok.encode(body.prompt, { addSpecialTokens: false });
      const lps = await tokenLogprobs(ids);
      const tokens = ids.map((id) => tok.decode([id]));
      const offsets = tokens.map((_, i) => tokens.slice(0, i).join('').length);
      return { text: body.echo ? body.prompt : '', logprobs: { tokens, token_logprobs: [null, ...lps], top_logprobs: tokens.map(() => null), text_offset: offsets } };
    },
  });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

it('scores targets with the sum of the reference forward log-probabilities (1e-4)', async () => {
  const samples = [
    { context: 'the quick brown fox', target: ' jumps over' },
    { context: 'a random model', target: ' still has logprobs' },
    { context: 'numbers 12 and', target: ' 34' },
  ];
  writeFileSync(join(dir, 'll.jsonl'), samples.map((s) => JSON.stringify(s)).join('\n'));
  writeFileSync(join(dir, 'll.yaml'), 'name: ll\nsamples: ll.jsonl\nrequest: loglikelihood\nprompt: "{{ context }}"\ntarget: "{{ target }}"\nmetrics: [perplexity]\n');
  const rep = await runEval({ task: loadTaskFile(join(dir, 'll.yaml')), client: new OpenAiHttpClient({ baseUrl: server.url }), outDir: join(dir, 'out'), cacheDir: null });
  let sumLp = 0;
  let sumN = 0;
  for (const [i, s] of samples.entries()) {
    const ctx = tok.encode(s.context, { addSpecialTokens: false });
    const all = tok.encode(s.context + s.target, { addSpecialTokens: false });
    expect(all.slice(0, ctx.length)).toEqual(ctx); // the target starts on a token boundary
    const lps = await tokenLogprobs(all);
    const want = lps.slice(ctx.length - 1).reduce((a, b) => a + b, 0);
    expect(Math.abs(rep.samples[i].logprob! - want)).toBeLessThan(1e-4);
    expect(rep.samples[i].tokens).toBe(all.length - ctx.length);
    sumLp += want;
    sumN += all.length - ctx.length;
  }
  expect(rep.metrics.perplexity.value).toBeCloseTo(Math.exp(-sumLp / sumN), 4);
});

it('refuses an endpoint that ignores echo, naming the field', async () => {
  const saved = server.handlers.completion!;
  server.handlers.completion = async (body) => ({ ...(await saved({ ...body, echo: false })) as object, text: 'x' }) as never;
  try {
    const rep = runEval({ task: loadTaskFile(join(dir, 'll.yaml')), client: new OpenAiHttpClient({ baseUrl: server.url }), outDir: join(dir, 'out-noecho'), cacheDir: null });
    await expect(rep).rejects.toThrow(/the endpoint ignored 'echo' \(its text does not start with the prompt\); loglikelihood needs prompt logprobs/);
  } finally {
    server.handlers.completion = saved;
  }
});
