// Ids identical to the `tiktoken` npm package (OpenAI's Rust core compiled to wasm) for all
// four encodings, over the varied corpus and random strings; decode round-trips.
import fc from 'fast-check';
import { get_encoding, type Tiktoken } from 'tiktoken';
import { ENCODING_NAMES, getEncoding } from '../src';
import { ALPHABET, CORPUS, SURROGATES } from './corpus';

const refs = new Map<string, Tiktoken>();
afterAll(() => refs.forEach((r) => r.free()));

describe.each(ENCODING_NAMES)('%s', (name) => {
  const enc = getEncoding(name);
  const ref = (): Tiktoken => {
    if (!refs.has(name)) refs.set(name, get_encoding(name));
    return refs.get(name)!;
  };

  it('encodes the corpus exactly like tiktoken and round-trips', () => {
    for (const s of [...CORPUS, CORPUS.join('\n')]) {
      expect(enc.encodeOrdinary(s)).toEqual(Array.from(ref().encode_ordinary(s)));
      expect(enc.decode(enc.encodeOrdinary(s))).toBe(s);
    }
  });

  it('encodes lone surrogates as U+FFFD like tiktoken', () => {
    for (const s of SURROGATES) {
      expect(enc.encodeOrdinary(s)).toEqual(Array.from(ref().encode_ordinary(s)));
      expect(enc.decode(enc.encodeOrdinary(s))).toBe(s.toWellFormed());
    }
  });

  it('matches tiktoken on random strings over a tricky alphabet', () => {
    const arb = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 40 }).map((a) => a.join(''));
    fc.assert(
      fc.property(arb, (s) => {
        expect(enc.encodeOrdinary(s)).toEqual(Array.from(ref().encode_ordinary(s)));
        expect(enc.decode(enc.encode(s, { disallowedSpecial: [] }))).toBe(s);
      }),
      { numRuns: 100 },
    );
  });

  it('matches decode_bytes for every id of a sample and rejects ids out of range', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => (i * 7919) % (enc.vocabSize - 300));
    expect(Buffer.from(enc.decodeBytes(ids))).toEqual(Buffer.from(ref().decode(new Uint32Array(ids))));
    expect(() => enc.decode([enc.vocabSize])).toThrow(/out of range/);
    expect(() => enc.decode([-1])).toThrow(/out of range/);
  });

  it('follows allowedSpecial / disallowedSpecial semantics', () => {
    const text = 'hi <|endoftext|> there';
    expect(() => enc.encode(text)).toThrow(/disallowed special token "<\|endoftext\|>"/);
    expect(() => ref().encode(text)).toThrow();
    expect(enc.encode(text, { allowedSpecial: 'all' })).toEqual(Array.from(ref().encode(text, 'all')));
    expect(enc.encode(text, { allowedSpecial: ['<|endoftext|>'] })).toEqual(Array.from(ref().encode(text, ['<|endoftext|>'])));
    expect(enc.encode(text, { disallowedSpecial: [] })).toEqual(Array.from(ref().encode(text, [], [])));
    expect(enc.encode(text, { allowedSpecial: 'all' })).toContain(enc.specialTokens.get('<|endoftext|>'));
    expect(enc.decode(enc.encode(text, { allowedSpecial: 'all' }))).toBe(text);
  });
});
