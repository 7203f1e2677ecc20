/*
 * The public shape of a tokenizer: what every encoding (tiktoken ranks, tokenizer.json,
 * a freshly trained BPE) offers to callers.
 *
 * What it is: interfaces and option types only.
 * What it is not: an implementation (see tiktoken.ts, hf/tokenizer.ts).
 * Reference: tiktoken's Encoding API (allowed_special / disallowed_special), Hugging Face
 * tokenizers' Tokenizer (encode with add_special_tokens, decode with skip_special_tokens).
 */

/** A set of special-token strings, or every special token of the tokenizer. */
export type SpecialSet = 'all' | Iterable<string>;

export interface EncodeOptions {
  /**
   * Special tokens encoded as their own id when they appear in the text. tiktoken encodings
   * default to none; tokenizer.json tokenizers default to 'all' (added tokens always split).
   */
  allowedSpecial?: SpecialSet;
  /**
   * Special tokens whose presence in the text is an error (tiktoken semantics). Default
   * 'all': every special token that is not allowed. Pass [] to encode them as plain text.
   */
  disallowedSpecial?: SpecialSet;
  /** tokenizer.json only: apply the post-processor (BOS/EOS templates). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave special/added tokens out of the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** One merge applied to a piece: the two symbols, the symbol they became, and its rank. */
export interface MergeStep {
  left: string;
  right: string;
  merged: string;
  leftId: number;
  rightId: number;
  mergedId: number;
  rank: number;
  /** Index of the left symbol in the piece's symbol list just before the merge. */
  index: number;
  /** The piece's symbols after this merge. */
  symbols: string[];
  /** Their ids. */
  symbolIds: number[];
}

/** One pre-tokenized piece and how BPE turned it into tokens. */
export interface ExplainedPiece {
  text: string;
  /** True for a special/added token matched verbatim (no BPE). */
  special: boolean;
  /** Initial symbols (bytes or characters, in the vocabulary's spelling). */
  initial: string[];
  initialIds: number[];
  merges: MergeStep[];
  /** True when the whole piece was found in the vocabulary (no merges applied). */
  direct: boolean;
  ids: number[];
  tokens: string[];
}

export interface Explanation {
  normalized: string;
  pieces: ExplainedPiece[];
  ids: number[];
}

export interface Tokenizer {
  readonly name: string;
  /** Number of ids: largest id + 1. */
  readonly vocabSize: number;
  /** Special (and added) tokens by content. */
  readonly specialTokens: ReadonlyMap<string, number>;
  encode(text: string, opts?: EncodeOptions): number[];
  /** Encodes with no special-token handling at all (special-looking text is plain text). */
  encodeOrdinary(text: string): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** Raw bytes of the ids (before UTF-8 decoding). */
  decodeBytes(ids: readonly number[], opts?: DecodeOptions): Uint8Array;
  /**
   * Bytes that token `id` contributes to decoded text when it is the `position`-th token
   * of a stream (position matters for decoders that strip a leading space).
   */
  streamBytes(id: number, position: number, opts?: DecodeOptions): Uint8Array;
  tokenToId(token: string): number | undefined;
  /** The token's spelling in the vocabulary ("Ġthe" for byte-level vocabularies). */
  idToToken(id: number): string | undefined;
  /** The token as display text: its bytes as UTF-8 (U+FFFD where not valid alone) or its string. */
  tokenText(id: number): string;
  /** Pre-tokenized pieces and the merges applied to each. */
  explain(text: string, opts?: EncodeOptions): Explanation;
}
