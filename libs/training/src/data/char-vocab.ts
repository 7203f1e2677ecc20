/*
 * A character-level vocabulary for synthetic tasks, and its Hugging Face tokenizer.json:
 * a BPE model with no merges whose vocabulary is the special tokens followed by the task's
 * characters, with the GPT-2 ByteLevel pre-tokenizer and decoder (so any HF-compatible
 * loader encodes "12+34=" to exactly the ids used in training). Characters must be single
 * bytes (ASCII); each is stored under its GPT-2 byte-to-unicode spelling (space -> "Ġ").
 *
 * Not a trained tokenizer: corpora go through the tokenizer library's BPE trainer.
 * Reference: GPT-2 encoder.py bytes_to_unicode; HF tokenizers' tokenizer.json schema.
 */

/** GPT-2's reversible byte -> printable unicode map. */
export function byteToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return map;
}

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
    for (const ch of uniq) {
      if (ch.charCodeAt(0) > 127 || ch.length !== 1) throw new Error(`CharVocab: character ${JSON.stringify(ch)} is not ASCII`);
    }
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

  /** The tokenizer.json object (HF tokenizers schema, BPE without merges, ByteLevel). */
  toTokenizerJson(): Record<string, unknown> {
    const b2u = byteToUnicode();
    const vocab: Record<string, number> = {};
    this.tokens.forEach((t, i) => (vocab[i < this.specials.length ? t : b2u[t.charCodeAt(0)]] = i));
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.specials.map((content, id) => ({
        id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
      })),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: null,
      decoder: byteLevel,
      model: {
        type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [],
      },
    };
  }
}
