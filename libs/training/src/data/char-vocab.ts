/*
 * A character-level vocabulary for synthetic tasks, and its Hugging Face tokenizer.json:
 * a BPE model with no merges and no pre-tokenizer whose vocabulary is the special tokens
 * followed by the task's characters, decoded with the Fuse decoder (tokens concatenated).
 * Any HF-compatible loader then splits "12+34=" into characters and finds exactly the ids
 * used in training, and decodes them back to the same text.
 *
 * Not byte-level: characters outside the alphabet have no id (text from the task's alphabet
 * only). Corpora go through the tokenizer library's byte-level BPE trainer instead.
 * Reference: HF tokenizers' tokenizer.json schema (models::bpe, decoders::fuse).
 */

export const EOS_TOKEN = '<|endoftext|>';

export class CharVocab {
  /** ids 0..specials-1 are the special tokens; then one id per character. */
  readonly tokens: string[];
  private readonly ids = new Map<string, number>();

  constructor(
    readonly chars: string,
    readonly specials: string[] = [EOS_TOKEN],
  ) {
    const uniq = [...new Set(chars)];
    this.tokens = [...specials, ...uniq];
    this.tokens.forEach((t, i) => this.ids.set(t, i));
  }

  get size(): number {
    return this.tokens.length;
  }

  get eosId(): number {
    return 0;
  }

  encode(text: string): number[] {
    return [...text].map((ch, i) => {
      const id = this.ids.get(ch);
      if (id === undefined || id < this.specials.length) {
        throw new Error(`CharVocab: character ${JSON.stringify(ch)} at index ${i} is not in the task alphabet ${JSON.stringify(this.chars)}`);
      }
      return id;
    });
  }

  /** Decodes ids, skipping special tokens. */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) if (ids[i] >= this.specials.length) s += this.tokens[ids[i]] ?? '';
    return s;
  }

  /** The tokenizer.json object (HF tokenizers schema: BPE without merges, Fuse decoder). */
  toTokenizerJson(): Record<string, unknown> {
    const vocab: Record<string, number> = {};
    this.tokens.forEach((t, i) => (vocab[t] = i));
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.specials.map((content, id) => ({
        id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
      })),
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: { type: 'Fuse' },
      model: {
        type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [],
      },
    };
  }
}
