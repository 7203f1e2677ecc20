/**
 * Writes a complete random-weight Hugging Face model directory (what `llm init-model` does):
 * config.json, model.safetensors, generation_config.json and a byte-level BPE tokenizer.json
 * trained with @llm/tokenizer to exactly vocab_size ids (256 bytes + merges + one special
 * token, <|endoftext|>, the last id, which is also BOS/EOS unless overridden), so every id a
 * model can sample decodes. The training corpus is a fixed English paragraph plus seeded
 * pseudo-words, grown until it holds enough distinct pairs for the merges the vocab needs.
 */
import { createRng } from '@llm/tensor';
import { trainBpe, toTokenizerJson } from '@llm/tokenizer';
import { Arch, DEFAULT_GENERATION, ModelConfig } from './config';
import { StoredDType, saveModelDir } from './io';
import { initRandomModel } from './init-random';

export const END_OF_TEXT = '<|endoftext|>';

const BASE_TEXT = `The quick brown fox jumps over the lazy dog. A language model predicts the next token from the
tokens before it: attention lets every position look back at the ones that came earlier, and the feed-forward
layers transform what it found. Numbers like 12, 345 and 6789 appear in text too, as do questions? and
exclamations! Some words repeat: the model, the model, the tokens, the tokens, and the end of the text.`;

const CONSONANTS = 'bcdfghjklmnprstvwz';
const VOWELS = 'aeiou';

function pseudoWords(n: number, seed: number): string {
  const rng = createRng(seed);
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    let w = '';
    const syllables = 1 + rng.int(4);
    for (let s = 0; s < syllables; s++) w += CONSONANTS[rng.int(CONSONANTS.length)] + VOWELS[rng.int(VOWELS.length)] + (rng.next() < 0.3 ? CONSONANTS[rng.int(CONSONANTS.length)] : '');
    words.push(w);
  }
  return words.join(' ');
}

/** tokenizer.json (as an object) of a byte-level BPE with exactly `vocabSize` ids, the last being <|endoftext|>. */
export function buildTokenizerJson(vocabSize: number, seed = 0): Record<string, unknown> {
  if (!Number.isInteger(vocabSize) || vocabSize < 257) {
    throw new Error(`vocab_size=${vocabSize} is too small for a byte-level BPE tokenizer (expected >= 257: 256 bytes + <|endoftext|>)`);
  }
  let extra = Math.max(0, vocabSize - 400);
  for (;;) {
    const corpus = `${BASE_TEXT}\n${pseudoWords(extra, seed)}`;
    try {
      return toTokenizerJson(trainBpe(corpus, { vocabSize, specialTokens: [END_OF_TEXT] }));
    } catch (e) {
      if (!/only enough distinct pairs/.test((e as Error).message)) throw e;
      extra = Math.max(256, extra * 2);
    }
  }
}

export interface InitModelDirOptions {
  overrides?: Record<string, unknown>;
  seed?: number;
  dtype?: StoredDType;
}

/** Creates `dir` with a random model of `arch`; returns its config. */
export function initModelDir(dir: string, arch: Arch, opts: InitModelDirOptions = {}): ModelConfig {
  const overrides = { ...(opts.overrides ?? {}) };
  const vocab = overrides.vocab_size ?? 512;
  if (!('bos_token_id' in overrides)) overrides.bos_token_id = Number(vocab) - 1;
  if (!('eos_token_id' in overrides)) overrides.eos_token_id = Number(vocab) - 1;
  const seed = opts.seed ?? 0;
  const { config, weights } = initRandomModel(arch, overrides, seed);
  const tokenizerJson = buildTokenizerJson(config.vocabSize, seed);
  const generationConfig = { ...DEFAULT_GENERATION, eosTokenIds: [...config.eosTokenIds], bosTokenId: config.bosTokenId };
  saveModelDir(dir, config, weights, { dtype: opts.dtype ?? 'F32', tokenizerJson, generationConfig });
  return config;
}
