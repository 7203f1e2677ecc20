/*
 * StreamDecoder: incremental detokenization. Token ids arrive one at a time; text is
 * emitted only once it forms complete UTF-8, so a multi-byte character split across
 * tokens never shows up as U+FFFD mid-stream.
 *
 * What it is: per-token bytes from the tokenizer (its decoder chain run in stream mode)
 * fed through a streaming UTF-8 decoder, which holds back an incomplete trailing
 * sequence (at most 3 bytes) and replaces only bytes that can never become valid.
 * The concatenated deltas plus flush() equal decode() of all ids (tested).
 * What it is not: a text-level diff of repeated full decodes (that is O(n^2)).
 * Reference: WHATWG Encoding (streaming UTF-8 decode); huggingface/tokenizers DecodeStream.
 */
import type { DecodeOptions, Tokenizer } from './types';

export class StreamDecoder {
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private numTokens = 0;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly opts: DecodeOptions = {},
  ) {}

  /** Adds one token; returns the text that became complete ('' while a character is pending). */
  push(id: number): string {
    const bytes = this.tokenizer.streamBytes(id, this.numTokens++, this.opts);
    return bytes.length === 0 ? '' : this.utf8.decode(bytes, { stream: true });
  }

  /** Adds several tokens; returns their combined delta. */
  pushMany(ids: readonly number[]): string {
    let out = '';
    for (const id of ids) out += this.push(id);
    return out;
  }

  /** Ends the stream: pending incomplete bytes become U+FFFD (as decode() would). */
  flush(): string {
    return this.utf8.decode();
  }

  /** Number of tokens pushed so far. */
  get length(): number {
    return this.numTokens;
  }
}
