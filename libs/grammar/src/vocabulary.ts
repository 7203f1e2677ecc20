/*
 * TokenVocabulary: a model's vocabulary as the grammar engine sees it: every token's bytes (what
 * it adds to the output text, so tokens that end mid-character are just byte strings), null for
 * special tokens (never generated under a grammar), and the EOS ids that end a sample once the
 * grammar accepts. Built from any @llm/tokenizer Tokenizer, whatever its own spelling (byte-level
 * "Ġ", SentencePiece "▁" with byte fallback), then handed to the engine in byte-level spelling.
 *
 * What it is not: a tokenizer. It never encodes text.
 */
import type { Tokenizer } from '@llm/tokenizer';

export interface TokenVocabulary {
  /** Token id -> its bytes in decoded text; null for special / added tokens. Length = V. */
  tokenBytes: (Uint8Array | null)[];
  /** Ids that end a sample; allowed only where the grammar may end. */
  eosTokenIds: number[];
}

/** The vocabulary of `tokenizer` padded to the model's `vocabSize` (ids without a token are never generated). */
export function vocabularyOf(tokenizer: Tokenizer, vocabSize: number, eosTokenIds: readonly number[]): TokenVocabulary {
  const special = new Set(tokenizer.specialTokens.values());
  const tokenBytes: (Uint8Array | null)[] = new Array(vocabSize).fill(null);
  for (let id = 0; id < Math.min(vocabSize, tokenizer.vocabSize); id++) {
    if (special.has(id) || tokenizer.idToToken(id) === undefined) continue;
    // Position 1: the bytes a token adds mid-stream (decoders that strip a leading space do so only at 0).
    tokenBytes[id] = tokenizer.streamBytes(id, 1);
  }
  return { tokenBytes, eosTokenIds: eosTokenIds.filter((id) => id < vocabSize) };
}

/** GPT-2's byte -> printable character table (the engine's byte-level spelling). */
function byteLevelTable(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return table;
}

/** Each token in byte-level spelling; special tokens as '' (the engine never allows those). */
export function byteLevelSpelling(vocab: TokenVocabulary): string[] {
  const table = byteLevelTable();
  return vocab.tokenBytes.map((bytes) => {
    if (!bytes) return '';
    let s = '';
    for (const b of bytes) s += table[b];
    return s;
  });
}
