/*
 * Test vocabularies for the grammar specs: a byte-level BPE trained with @llm/tokenizer on a small
 * English + JSON corpus (so multi-byte tokens like `": "` and `{"` exist), plus an EOS special.
 * What it is not: a model's vocabulary; the platform tests use real model directories.
 */
import { loadTokenizerJson, toTokenizerJson, trainBpe, type Tokenizer } from '@llm/tokenizer';
import { vocabularyOf, type TokenVocabulary } from '../vocabulary';

const CORPUS = `{"name": "Ada", "age": 36, "tags": ["x", "y"], "ok": true, "none": null}
The quick brown fox jumps over the lazy dog. 0123456789 -12.5 3.25 "quoted" é 😀 日本`;

export function testTokenizer(vocabSize = 340): Tokenizer {
  return loadTokenizerJson(toTokenizerJson(trainBpe(CORPUS.repeat(3), { vocabSize, specialTokens: ['<|endoftext|>'] })));
}

export function testVocabulary(vocabSize = 340): { tokenizer: Tokenizer; vocab: TokenVocabulary; eos: number } {
  const tokenizer = testTokenizer(vocabSize);
  const eos = tokenizer.specialTokens.get('<|endoftext|>') as number;
  return { tokenizer, vocab: vocabularyOf(tokenizer, tokenizer.vocabSize, [eos]), eos };
}
