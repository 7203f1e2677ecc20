/*
 * tiktoken-compatible encodings: r50k_base, p50k_base, cl100k_base, o200k_base, and any
 * rank table with a split pattern (e.g. a trained tokenizer's .tiktoken output).
 *
 * What it is: pre-tokenize (hand scanner when one exists for the pattern, else the
 * translated regex), byte-level BPE by rank per piece, tiktoken's special-token rules.
 * Ids equal those of the `tiktoken` npm package (tested over a varied corpus).
 * What it is not: the rank data itself (read from the js-tiktoken package at run time).
 * Reference: openai/tiktoken core.py (Encoding) and src/lib.rs (CoreBPE).
 */
import { TokenizerError } from './errors';
import { ByteBpe, pairsFromRanks } from './byte-bpe';
import { byteLevelToBytes, bytesToByteLevel, concatBytes, utf8Decode } from './bytes';
import type { ByteTable } from './byte-table';
import { explainPieces } from './explain';
import { loadEncodingData, type EncodingName, type RankData } from './ranks';
import { scannerFor } from './scanners';
import { resolveSpecial, splitOnSpecials } from './special';
import { RegexSplitter, type PieceSplitter } from './splitter';
import type { DecodeOptions, EncodeOptions, Explanation, Tokenizer } from './types';

export class TiktokenTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly splitter: PieceSplitter;
  readonly bpe: ByteBpe;
  private readonly specialById = new Map<number, string>();
  private readonly encoder: ByteTable;
  private readonly pieces: string[] = [];

  constructor(data: RankData, splitter?: PieceSplitter) {
    this.name = data.name;
    this.specialTokens = data.specialTokens;
    const { pairs, encoder } = pairsFromRanks(data.tokenBytes);
    this.encoder = encoder;
    this.bpe = new ByteBpe(pairs, data.tokenBytes, encoder);
    let maxId = data.tokenBytes.length - 1;
    for (const [text, id] of data.specialTokens) {
      if (data.tokenBytes[id]) throw new Error(`${data.name}: special token ${text} reuses ordinary id ${id}`);
      this.specialById.set(id, text);
      maxId = Math.max(maxId, id);
    }
    this.vocabSize = maxId + 1;
    this.splitter = splitter ?? scannerFor(data.pattern) ?? new RegexSplitter(data.pattern);
  }

  encodeOrdinary(text: string): number[] {
    const out: number[] = [];
    this.encodeOrdinaryInto(text, out);
    return out;
  }

  private encodeOrdinaryInto(text: string, out: number[]): void {
    this.bpe.encodeText(text, this.splitter, out, this.pieces);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (this.specialTokens.size === 0) return this.encodeOrdinary(text);
    const allowed = resolveSpecial(text, this.specialTokens, opts.allowedSpecial, opts.disallowedSpecial, []);
    if (allowed.size === 0) return this.encodeOrdinary(text);
    const out: number[] = [];
    for (const seg of splitOnSpecials(text, allowed, this.specialTokens)) {
      if (seg.special >= 0) out.push(seg.special);
      else this.encodeOrdinaryInto(seg.text, out);
    }
    return out;
  }

  private bytesOf(id: number): Uint8Array {
    const b = this.bpe.tokenBytes[id];
    if (b) return b;
    const special = this.specialById.get(id);
    if (special !== undefined) return new TextEncoder().encode(special);
    throw new TokenizerError(`token id ${id} is out of range for ${this.name} (valid ids: 0..${this.vocabSize - 1}, without holes)`);
  }

  decodeBytes(ids: readonly number[], opts: DecodeOptions = {}): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const id of ids) {
      if (opts.skipSpecialTokens && this.specialById.has(id)) continue;
      parts.push(this.bytesOf(id));
    }
    return concatBytes(parts);
  }

  decode(ids: readonly number[], opts?: DecodeOptions): string {
    return utf8Decode(this.decodeBytes(ids, opts));
  }

  streamBytes(id: number, _position: number, opts: DecodeOptions = {}): Uint8Array {
    if (opts.skipSpecialTokens && this.specialById.has(id)) return new Uint8Array(0);
    return this.bytesOf(id);
  }

  /** Tokens are named by their bytes in the GPT-2 alphabet ("Ġthe"); specials by their text. */
  tokenToId(token: string): number | undefined {
    const special = this.specialTokens.get(token);
    if (special !== undefined) return special;
    const bytes = byteLevelToBytes(token);
    const id = bytes === null ? -1 : this.encoder.lookup(bytes);
    return id >= 0 ? id : undefined;
  }

  idToToken(id: number): string | undefined {
    const b = this.bpe.tokenBytes[id];
    if (b) return bytesToByteLevel(b);
    return this.specialById.get(id);
  }

  tokenText(id: number): string {
    return utf8Decode(this.bytesOf(id));
  }

  explain(text: string, opts: EncodeOptions = {}): Explanation {
    const allowed = resolveSpecial(text, this.specialTokens, opts.allowedSpecial, opts.disallowedSpecial, []);
    return explainPieces(text, splitOnSpecials(text, allowed, this.specialTokens), {
      split: (t) => {
        const out: string[] = [];
        this.splitter.split(t, out);
        return out;
      },
      bpePiece: (piece, observe) => this.bpe.explainPiece(piece, observe),
      tokenName: (id) => this.idToToken(id) ?? `<${id}>`,
    });
  }
}

const cache = new Map<string, TiktokenTokenizer>();

/** One of OpenAI's encodings, built once per process from the js-tiktoken rank data. */
export function getEncoding(name: EncodingName): TiktokenTokenizer {
  let enc = cache.get(name);
  if (!enc) {
    enc = new TiktokenTokenizer(loadEncodingData(name));
    cache.set(name, enc);
  }
  return enc;
}

/** A tokenizer from a tiktoken rank file's token bytes, a split pattern and specials. */
export function tiktokenFromRanks(
  name: string,
  tokenBytes: Array<Uint8Array | undefined>,
  pattern: string,
  specialTokens: Map<string, number> = new Map(),
): TiktokenTokenizer {
  return new TiktokenTokenizer({ name, pattern, tokenBytes, specialTokens });
}

