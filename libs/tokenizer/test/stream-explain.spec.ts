// StreamDecoder: for random text, the deltas concatenated equal decode(ids) and never
// contain U+FFFD for valid text, whatever the token boundaries. explain() gives encode()'s ids.
import fc from 'fast-check';
import { getEncoding, loadTokenizerJson, StreamDecoder, trainBpe, toTokenizerJson } from '../src';
import { ALPHABET, CORPUS } from './corpus';

const text = fc.array(fc.constantFrom(...ALPHABET, '日本', 'ß', '🇫🇷', '👨‍👩‍👧'), { maxLength: 40 }).map((a) => a.join(''));

describe('StreamDecoder', () => {
  const enc = getEncoding('cl100k_base');

  it('emits exactly the decoded text, never U+FFFD mid-stream', () => {
    fc.assert(
      fc.property(text, (s) => {
        const ids = enc.encode(s, { disallowedSpecial: [] });
        const d = new StreamDecoder(enc);
        const deltas = ids.map((id) => d.push(id));
        expect(deltas.join('') + d.flush()).toBe(s);
        for (const delta of deltas) expect(delta).not.toContain('\ufffd');
      }),
      { numRuns: 100 },
    );
  });

  it('holds back a split character until its last byte arrives', () => {
    // '🎉' is 4 bytes; with r50k each byte is its own token here
    const r50k = getEncoding('r50k_base');
    const ids = r50k.encode('🎉');
    expect(ids.length).toBeGreaterThan(1);
    const d = new StreamDecoder(r50k);
    const deltas = ids.map((id) => d.push(id));
    expect(deltas.slice(0, -1).every((x) => x === '')).toBe(true);
    expect(deltas[deltas.length - 1]).toBe('🎉');
  });

  it('replaces bytes that can never complete, at flush or when proven invalid', () => {
    const r50k = getEncoding('r50k_base');
    const first = r50k.encode('🎉')[0]; // a lead byte alone
    const d = new StreamDecoder(r50k);
    expect(d.push(first)).toBe('');
    expect(d.flush()).toBe(r50k.decode([first]));
    expect(r50k.decode([first])).toBe('\ufffd');
  });

  it('works with a trained tokenizer.json', () => {
    const tok = loadTokenizerJson(toTokenizerJson(trainBpe(CORPUS.join(' '), { vocabSize: 400 })));
    fc.assert(
      fc.property(text, (s) => {
        const ids = tok.encode(s, { disallowedSpecial: [] });
        const d = new StreamDecoder(tok);
        expect(d.pushMany(ids) + d.flush()).toBe(tok.decode(ids));
      }),
      { numRuns: 100 },
    );
  });
});

describe('explain', () => {
  it('gives the ids of encode and a replayable merge sequence', () => {
    const enc = getEncoding('cl100k_base');
    for (const s of CORPUS.slice(0, 12)) {
      const ex = enc.explain(s);
      expect(ex.ids).toEqual(enc.encode(s));
      expect(ex.pieces.map((p) => p.text).join('')).toBe(s);
      for (const p of ex.pieces) {
        const last = p.merges.length ? p.merges[p.merges.length - 1].symbols : p.initial;
        if (!p.direct) expect(last).toEqual(p.tokens);
        for (let i = 1; i < p.merges.length; i++) expect(p.merges[i].symbols.length).toBe(p.merges[i - 1].symbols.length - 1);
      }
    }
  });

  it('shows special tokens as single pieces', () => {
    const enc = getEncoding('cl100k_base');
    const ex = enc.explain('a<|endoftext|>b', { allowedSpecial: 'all' });
    expect(ex.pieces.map((p) => [p.text, p.special])).toEqual([
      ['a', false],
      ['<|endoftext|>', true],
      ['b', false],
    ]);
  });
});
