/*
 * The shipped default model (models/default, trained with `llm train --task add2` over a
 * byte-level tokenizer) still does what its model card says when the model library runs it:
 * two-digit sums, least-significant digit first, then <|endoftext|>.
 */
import { loadModelDir, Transformer } from '@llm/model';
import { loadTokenizerJson } from '@llm/tokenizer';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getTask } from '../src/data/tasks';
import { Rng } from '../src/rng';

const dir = join(__dirname, '../../../models/default');

it('answers held-out two-digit additions', async () => {
  const m = await loadModelDir(dir);
  const tok = loadTokenizerJson(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const eos = m.generation.eosTokenIds[0];
  expect(tok.specialTokens.get('<|endoftext|>')).toBe(eos);
  const tf = new Transformer(m.config, m.weights);
  const task = getTask('add2');
  const rng = new Rng(2024);
  let correct = 0;
  for (let i = 0; i < 40; i++) {
    const ex = task.sample(rng);
    const cache = tf.newCache();
    let logits = await tf.forward(tok.encode(ex.prompt), cache, { lastOnly: true });
    const out: number[] = [];
    for (let s = 0; s < 4; s++) {
      let best = 0;
      for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
      if (best === eos) break;
      out.push(best);
      logits = await tf.forward([best], cache, { lastOnly: true });
    }
    if (tok.decode(out) === ex.answer) correct++;
  }
  expect(correct).toBeGreaterThanOrEqual(38);
  expect(tok.decode(tok.encode('any text, even ünïcödé'))).toBe('any text, even ünïcödé');
});
