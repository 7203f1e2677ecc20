// BPE training: a hand-worked merge sequence, agreement with a naive full-recount trainer
// (the textbook algorithm) on random corpora, and outputs that the reference
// implementations load: tokenizer.json by @huggingface/tokenizers, rank file by tiktoken.
import fc from 'fast-check';
import { Tokenizer as RefTokenizer } from '@huggingface/tokenizers';
import { Tiktoken } from 'tiktoken';
import { loadTokenizerJson, tiktokenFromRanks, parseTiktokenFile, toTiktokenRanks, toTokenizerJson, trainBpe, GPT2_PATTERN } from '../src';
import { utf8Encode } from '../src/bytes';
import { RegexSplitter } from '../src/splitter';

const WHOLE = '[\\s\\S]+'; // a pattern that keeps the corpus in one piece

/** Textbook BPE training: recount every pair after each merge; ties to the smaller pair. */
function naiveTrain(corpus: string, pattern: string, numMerges: number): Array<[number, number]> {
  const pieces: string[] = [];
  new RegexSplitter(pattern).split(corpus, pieces);
  let words = pieces.map((p) => Array.from(utf8Encode(p)));
  const merges: Array<[number, number]> = [];
  for (let m = 0; m < numMerges; m++) {
    const counts = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) counts.set(`${w[i]},${w[i + 1]}`, (counts.get(`${w[i]},${w[i + 1]}`) ?? 0) + 1);
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (!best) break;
    merges.push(best);
    const id = 256 + m;
    words = words.map((w) => {
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === best![0] && w[i + 1] === best![1]) {
          out.push(id);
          i++;
        } else out.push(w[i]);
      }
      return out;
    });
  }
  return merges;
}

describe('trainBpe', () => {
  it('reproduces the worked example aaabdaaabac -> XdXac', () => {
    // pairs: aa:4 ab:2 bd,da,ba,ac:1 -> merge aa (256) -> Z a b d Z a b a c
    // pairs: (Z,a):2 (a,b):2 -> tie, smaller pair (a,b) wins -> 257
    // pairs: (Z,Y):2 -> 258; the text is then X d X a c
    const t = trainBpe('aaabdaaabac', { vocabSize: 259, pattern: WHOLE });
    expect(t.merges).toEqual([
      [97, 97],
      [97, 98],
      [256, 257],
    ]);
    const tok = tiktokenFromRanks('toy', t.tokenBytes, WHOLE);
    expect(tok.encode('aaabdaaabac')).toEqual([258, 100, 258, 97, 99]);
    const steps = tok.explain('aaabdaaabac').pieces[0].merges.map((m) => m.symbols.join(' '));
    expect(steps[steps.length - 1]).toBe('aaab d aaab a c');
  });

  it('agrees with the naive full-recount trainer on random corpora', () => {
    const word = fc.array(fc.constantFrom('a', 'b', 'c', 'é', ' ', '\n', '1', '!'), { minLength: 1, maxLength: 12 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 25 }), (words, n) => {
        const corpus = words.join(' ');
        const want = naiveTrain(corpus, GPT2_PATTERN, n);
        if (want.length < n) {
          expect(() => trainBpe(corpus, { vocabSize: 256 + n })).toThrow(/only enough distinct pairs/);
          return;
        }
        expect(trainBpe(corpus, { vocabSize: 256 + n }).merges).toEqual(want);
      }),
      { numRuns: 150 },
    );
  });

  const corpus = [
    'The cat sat on the mat. The dog sat on the log. Cats and dogs, mats and logs!',
    'function add(a, b) { return a + b; } // 12345 67890',
    'Ünïcödé: 日本語 テキスト 🎉🎉 emoji, naïve café.',
  ]
    .join('\n')
    .repeat(30);

  it('writes a tokenizer.json that the reference loads with identical ids', () => {
    const t = trainBpe(corpus, { vocabSize: 350, specialTokens: ['<|endoftext|>', '<|pad|>'] });
    const json = toTokenizerJson(t);
    const ours = loadTokenizerJson(JSON.stringify(json));
    const ref = new RefTokenizer(json as never, {});
    expect(ours.vocabSize).toBe(350);
    expect(ours.tokenToId('<|pad|>')).toBe(349);
    for (const s of [corpus.slice(0, 500), 'A new sentence the model never saw, with 42 cats.<|endoftext|>', 'ж 中 🎉 x']) {
      expect(ours.encode(s)).toEqual(ref.encode(s).ids);
      expect(ours.decode(ours.encode(s))).toBe(s);
    }
  });

  it('writes a tiktoken rank file that tiktoken loads with identical ids', () => {
    const t = trainBpe(corpus, { vocabSize: 340 });
    const ranks = toTiktokenRanks(t);
    expect(parseTiktokenFile(ranks)).toEqual(t.tokenBytes);
    const ref = new Tiktoken(ranks, {}, t.pattern);
    const ours = tiktokenFromRanks('trained', parseTiktokenFile(ranks) as Uint8Array[], t.pattern);
    try {
      for (const s of [corpus.slice(0, 700), 'Cats sat on mats, 2024 times! 🎉']) expect(ours.encode(s)).toEqual(Array.from(ref.encode(s)));
    } finally {
      ref.free();
    }
  });

  it('reports progress and rejects bad options', () => {
    const seen: number[] = [];
    trainBpe(corpus, { vocabSize: 300, onProgress: (done, total) => seen.push(done / total) });
    expect(seen[seen.length - 1]).toBe(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(() => trainBpe(corpus, { vocabSize: 100 })).toThrow(/vocabSize must be an integer >= 256/);
    expect(() => trainBpe(corpus, { vocabSize: 300, specialTokens: ['x', 'x'] })).toThrow(/distinct/);
    expect(() => trainBpe('ab', { vocabSize: 300 })).toThrow(/only enough distinct pairs for 1 merges/);
  });
});
