/*
 * The synthetic tasks' character vocabulary, its tokenizer.json read back by the platform's
 * tokenizer library (same ids both ways), corpus windows, and task batches.
 */
import { loadTokenizerJson, toTokenizerJson, trainBpe } from '@llm/tokenizer';
import { CharVocab, EOS_TOKEN } from '../src/data/char-vocab';
import { getTask, TASK_NAMES } from '../src/data/tasks';
import { IGNORE_INDEX, TaskBatches, tokenizerCodec } from '../src/data/task-data';
import { TokenWindows } from '../src/data/windows';
import { Rng } from '../src/rng';

describe('CharVocab tokenizer.json', () => {
  // Tasks with their own tokenizer (tooladd) are tested in tool-task.spec.ts.
  for (const name of TASK_NAMES.filter((n) => !getTask(n).tokenizer)) {
    it(`${name}: the tokenizer library encodes and decodes task text with the training ids`, () => {
      const task = getTask(name);
      const vocab = new CharVocab(task.alphabet);
      const tok = loadTokenizerJson(vocab.toTokenizerJson());
      expect(tok.vocabSize).toBe(vocab.size);
      expect(tok.specialTokens.get(EOS_TOKEN)).toBe(vocab.eosId);
      const rng = new Rng(3);
      for (let i = 0; i < 20; i++) {
        const ex = task.sample(rng);
        const text = ex.prompt + ex.answer;
        expect(tok.encode(text)).toEqual(vocab.encode(text));
        expect(tok.decode(vocab.encode(text))).toBe(text);
      }
      expect(tok.encode(`${task.sample(rng).prompt}${EOS_TOKEN}`).at(-1)).toBe(vocab.eosId);
    });
  }
  it('rejects characters outside the alphabet, naming them', () => {
    expect(() => new CharVocab('ab').encode('abc')).toThrow(/"c" at index 2/);
  });
});

describe('tasks', () => {
  it('answers are right by construction', () => {
    const rng = new Rng(1);
    const add = getTask('add3').sample(rng);
    const [a, b] = add.prompt.slice(0, -1).split('+').map(Number);
    expect(Number([...add.answer].reverse().join(''))).toBe(a + b);
    const sum = getTask('sum3').sample(rng);
    const [x, y] = sum.prompt.slice(0, -1).split('+').map(Number);
    expect(sum.answer).toBe(String(x + y).padStart(4, '0'));
    const sort = getTask('sort6').sample(rng);
    expect(sort.answer).toBe([...sort.prompt.slice(0, -1)].sort().join(''));
    let yes = 0;
    for (let i = 0; i < 200; i++) {
      const d = getTask('dyck').sample(rng);
      let depth = 0, ok = true;
      for (const ch of d.prompt.slice(0, -1)) if ((depth += ch === '(' ? 1 : -1) < 0) ok = false;
      expect(d.answer).toBe(ok && depth === 0 ? 'Y' : 'N');
      if (d.answer === 'Y') yes++;
    }
    expect(yes).toBeGreaterThan(60);
    expect(yes).toBeLessThan(140);
  });
  it('unknown task names list the known ones', () => {
    expect(() => getTask('fly')).toThrow(/unknown task 'fly' \(known: copy, reverse, sort, add, sum, dyck/);
  });
  it('batches learn only the answer and the closing eos', () => {
    const data = new TaskBatches(getTask('copy3'), 2, 1);
    const r = data.encodeRow({ prompt: 'abc>', answer: 'abc' });
    const [a, b, c, gt] = data.vocab.encode('abc>');
    expect(r.inputs).toEqual([a, b, c, gt, a, b, c]);
    expect(r.targets).toEqual([IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, a, b, c, data.vocab.eosId]);
  });
});

describe('tasks over a byte-level tokenizer', () => {
  const bytes = loadTokenizerJson(toTokenizerJson(trainBpe('0123456789+=', { vocabSize: 257, specialTokens: [EOS_TOKEN] })));
  it('rows are the byte tokens of prompt and answer, closed by the tokenizer eos', () => {
    const codec = tokenizerCodec(bytes, 'bytes');
    const data = new TaskBatches(getTask('add2'), 1, 1, codec);
    const r = data.encodeRow({ prompt: '12+34=', answer: '640' });
    const ids = bytes.encodeOrdinary('12+34=640');
    expect(ids).toHaveLength(9); // one token per byte, no merges
    expect(r.inputs).toEqual(ids.slice(0, 9));
    expect(r.targets).toEqual([...Array(5).fill(IGNORE_INDEX), ...ids.slice(6), codec.eosId]);
    expect(codec.decode([...ids, codec.eosId])).toBe('12+34=640');
    // any text encodes, unlike the character vocabulary
    expect(bytes.decode(codec.encode('héllo'))).toBe('héllo');
  });
  it('a tokenizer without an end-of-text token is refused', () => {
    const plain = loadTokenizerJson(toTokenizerJson(trainBpe('abc', { vocabSize: 256 })));
    expect(() => tokenizerCodec(plain, '--tokenizer t.json')).toThrow(/--tokenizer t.json has no <\|endoftext\|> or <\/s> special token/);
  });
});

describe('TokenWindows', () => {
  it('streams shifted (B, T) windows and wraps', () => {
    const tokens = Int32Array.from({ length: 10 }, (_, i) => i);
    const w = new TokenWindows(tokens, 2, 3);
    const b1 = w.next();
    expect(Array.from(b1.inputs)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(b1.targets)).toEqual([1, 2, 3, 4, 5, 6]);
    const b2 = w.next();
    expect(Array.from(b2.inputs)).toEqual([6, 7, 8, 0, 1, 2]);
    expect(w.getState()).toBe(3);
  });
  it('a corpus shorter than one window is a clear error', () => {
    expect(() => new TokenWindows(Int32Array.of(1, 2, 3), 1, 3, 'corpus.txt')).toThrow(/corpus.txt tokenizes to 3 tokens, fewer than one window of 4/);
  });
});
