// Bad input: unknown encodings, malformed tokenizer.json (the error names the field),
// unsupported components (named, never approximated), ids out of range.
import { getEncoding, loadTokenizerJson, type EncodingName } from '../src';
import { translate } from '../src/regex';

const base = () => ({
  model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 } as Record<string, unknown>, merges: ['a b'] as unknown[] },
  pre_tokenizer: null as unknown,
  normalizer: null as unknown,
  decoder: null as unknown,
  post_processor: null as unknown,
  added_tokens: [] as unknown[],
});

describe('bad input', () => {
  it('rejects an unknown encoding', () => {
    expect(() => getEncoding('gpt5_base' as EncodingName)).toThrow(/unknown encoding "gpt5_base" \(expected one of r50k_base/);
  });

  it('loads a minimal tokenizer.json', () => {
    const tok = loadTokenizerJson(base());
    expect(tok.encode('abab')).toEqual([2, 2]);
    expect(tok.decode([2, 0])).toBe('aba');
  });

  it('names the malformed field', () => {
    const cases: Array<[(j: ReturnType<typeof base>) => void, RegExp]> = [
      [(j) => delete (j as { model?: unknown }).model, /tokenizer\.json: model must be an object/],
      [(j) => (j.model.vocab = []), /model\.vocab must be an object/],
      [(j) => (j.model.vocab.a = -1), /model\.vocab\["a"\] must be a non-negative integer id/],
      [(j) => (j.model.merges = ['a c']), /model\.merges\[0\] must be a pair whose parts and concatenation are in model\.vocab/],
      [(j) => (j.model.merges = [42]), /model\.merges\[0\] must be a "left right" string/],
      [(j) => (j.model.merges = 'a b' as never), /model\.merges must be an array/],
      [(j) => (j.added_tokens = [{ id: 'x', content: '<s>' }]), /added_tokens\[0\]\.id must be a non-negative integer/],
      [(j) => (j.normalizer = { type: 'Replace', content: 'x' }), /normalizer\.pattern must be an object/],
      [(j) => (j.pre_tokenizer = { type: 'Split', pattern: { Regex: 'a' }, behavior: 'Sideways' }), /pre_tokenizer\.behavior\.type "Sideways" is not supported/],
    ];
    for (const [mutate, re] of cases) {
      const j = base();
      mutate(j);
      expect(() => loadTokenizerJson(j)).toThrow(re);
    }
    expect(() => loadTokenizerJson('{"model": ')).toThrow(/not valid JSON/);
  });

  it('names unsupported components instead of approximating', () => {
    const cases: Array<[(j: ReturnType<typeof base>) => void, RegExp]> = [
      [(j) => (j.model.type = 'WordPiece'), /model\.type "WordPiece" is not supported \(supported: BPE\)/],
      [(j) => (j.normalizer = { type: 'BertNormalizer' }), /normalizer\.type "BertNormalizer" is not supported/],
      [(j) => (j.pre_tokenizer = { type: 'Whitespace' }), /pre_tokenizer\.type "Whitespace" is not supported/],
      [(j) => (j.decoder = { type: 'WordPiece' }), /decoder\.type "WordPiece" is not supported/],
      [(j) => (j.post_processor = { type: 'BertProcessing' }), /post_processor\.type "BertProcessing" is not supported/],
      [(j) => (j.model.dropout = 0.1 as never), /model\.dropout 0\.1 is not supported/],
      [(j) => (j.model.continuing_subword_prefix = '##' as never), /continuing_subword_prefix "##" is not supported/],
      [(j) => (j.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'ByteLevel' }, { type: 'Digits' }] }), /ByteLevel pre-tokenizer is supported only as the last/],
      [(j) => (j.pre_tokenizer = { type: 'Split', pattern: { Regex: '\\G' }, behavior: 'Isolated' }), /\\G is not supported/],
    ];
    for (const [mutate, re] of cases) {
      const j = base();
      mutate(j);
      expect(() => loadTokenizerJson(j)).toThrow(re);
    }
  });

  it('rejects ids out of range and unknown characters without unk', () => {
    const tok = loadTokenizerJson(base());
    expect(() => tok.decode([3])).toThrow(/token id 3 is out of range/);
    expect(() => tok.encode('z')).toThrow(/cannot encode "z": not in model\.vocab and model\.unk_token is null/);
  });

  it('translates Oniguruma-isms in split patterns', () => {
    expect(translate("(?i:'s|x)")).toBe("(?:'[sS]|[xX])");
    expect(translate('\\s+(?!\\S)')).toBe('\\p{White_Space}+(?!\\P{White_Space})');
    expect(translate('\\p{L}++')).toBe('\\p{L}+');
  });
});
