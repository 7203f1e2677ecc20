/*
 * OutputText: one sample's text pipeline. Token ids go through the tokenizer library's
 * StreamDecoder (incremental detokenization that only emits complete UTF-8) and then through the
 * StopStringMatcher (stop strings across token boundaries, held-back text never sent early).
 *
 * What it is not: a tokenizer RPC per token (the orchestrator decodes locally with the model's
 * tokenizer.json), nor the finish decision (Sequence makes it, using what this returns).
 * Reference: Hugging Face tokenizers DecodeStream; vLLM's detokenizer + stop checker.
 */
import { StreamDecoder, type Tokenizer } from '@llm/tokenizer';
import { StopStringMatcher } from './stop-matcher';

export interface TextStep {
  /** Text that may be sent now. */
  text: string;
  /** The stop string that ended the text, if one matched. */
  stop?: string;
}

export class OutputText {
  private readonly decoder: StreamDecoder;
  private readonly matcher: StopStringMatcher;

  constructor(tokenizer: Tokenizer, stops: readonly string[], skipSpecialTokens: boolean) {
    this.decoder = new StreamDecoder(tokenizer, { skipSpecialTokens });
    this.matcher = new StopStringMatcher(stops);
  }

  /** Adds one generated token's text; `allowStop` false ignores stop strings (before min_tokens). */
  push(tokenId: number, allowStop: boolean): TextStep {
    return this.matcher.push(this.decoder.push(tokenId), allowStop);
  }

  /** Ends the sample without a stop string: incomplete UTF-8 and held-back text are released. */
  end(): string {
    return this.matcher.push(this.decoder.flush(), false).text + this.matcher.flush();
  }
}
