// The hand-written scanners split exactly like the regex they replace, on the corpus and
// on random strings over an alphabet of every character class the patterns distinguish.
import fc from 'fast-check';
import { scannerFor, R50K_PATTERN, CL100K_PATTERN, O200K_PATTERN } from '../src/scanners';
import { RegexSplitter } from '../src/splitter';
import { loadEncodingData } from '../src/ranks';
import { ALPHABET, CORPUS, SURROGATES } from './corpus';

const EXTRA = ['\u0300', 'ǅ', 'ʰ', 'ſ', "'ſ", 'Ⅻ', '\ud800', '\udc00', '𝒲', '𝓁', '/', '\r\n', 'ー', 'ǈ', 'ᾈ', '\u20dd', '१'];

describe.each([
  ['r50k', R50K_PATTERN],
  ['cl100k', CL100K_PATTERN],
  ['o200k', O200K_PATTERN],
])('%s scanner', (_name, pattern) => {
  const scanner = scannerFor(pattern)!;
  const regex = new RegexSplitter(pattern);
  const split = (sp: { split(t: string, o: string[]): void }, t: string) => {
    const out: string[] = [];
    sp.split(t, out);
    return out;
  };

  it('exists for the published pattern', () => expect(scanner).not.toBeNull());

  it('splits the corpus like the regex', () => {
    for (const s of [...CORPUS, ...SURROGATES, CORPUS.join('\n')]) expect(split(scanner, s)).toEqual(split(regex, s));
  });

  it('splits random strings like the regex', () => {
    const arb = fc.array(fc.constantFrom(...ALPHABET, ...EXTRA), { maxLength: 30 }).map((a) => a.join(''));
    fc.assert(fc.property(arb, (s) => expect(split(scanner, s)).toEqual(split(regex, s))), { numRuns: 1000 });
  });
});

it('is selected for the patterns shipped with the encodings', () => {
  for (const name of ['r50k_base', 'p50k_base', 'cl100k_base', 'o200k_base']) {
    expect(scannerFor(loadEncodingData(name).pattern)).not.toBeNull();
  }
});
