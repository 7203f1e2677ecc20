/*
 * ByteBpe: byte-level BPE over one pre-tokenized piece, with a piece -> ids cache.
 *
 * What it is: the shared encoder of tiktoken encodings, byte-level tokenizer.json models
 * (GPT-2, Llama 3, Qwen2) and trained tokenizers. A piece's UTF-8 bytes start as
 * single-byte tokens and are merged by rank (bpe.ts). When `direct` is set, a piece that
 * is itself a token is emitted without merging (tiktoken's shortcut; HF `ignore_merges`).
 * What it is not: pre-tokenization or special tokens.
 * Reference: openai/tiktoken src/lib.rs (byte_pair_encode, the encoder shortcut).
 */
import { utf8Encode } from './bytes';
import { ByteTable } from './byte-table';
import { HEAP_THRESHOLD, mergeIds, mergeSymbols, type MergeObserver } from './bpe';
import { PairTable } from './pair-table';
import { PieceCache } from './piece-cache';
import type { PieceSplitter } from './splitter';

export class ByteBpe {
  /** byte value -> id of the single-byte token. */
  readonly byteIds = new Int32Array(256).fill(-1);
  private readonly cache = new PieceCache();

  /**
   * @param pairs merge table (ids of the two parts -> rank, merged id)
   * @param tokenBytes bytes of each id (holes allowed)
   * @param direct bytes -> id for the whole-piece shortcut, or null
   */
  constructor(
    readonly pairs: PairTable,
    readonly tokenBytes: ReadonlyArray<Uint8Array | undefined>,
    readonly direct: ByteTable | null,
  ) {
    tokenBytes.forEach((b, id) => {
      if (b && b.length === 1 && this.byteIds[b[0]] < 0) this.byteIds[b[0]] = id;
    });
    const missing = this.byteIds.indexOf(-1);
    if (missing >= 0) throw new Error(`byte-level vocabulary has no token for byte 0x${missing.toString(16).padStart(2, '0')}`);
  }

  /** Appends the ids of one piece to `out`. */
  encodePiece(piece: string, out: number[]): void {
    this.encodeSpan(piece, 0, piece.length, out);
  }

  /** Appends the ids of the piece text[start, end) to `out` (no substring on a cache hit). */
  encodeSpan(text: string, start: number, end: number, out: number[]): void {
    const cache = this.cache;
    const h = PieceCache.hash(text, start, end);
    const slot = cache.find(text, start, end, h);
    if (slot >= 0) return cache.emit(slot, out);
    const piece = start === 0 && end === text.length ? text : text.slice(start, end);
    const ids = this.encodeUncached(piece);
    cache.insert(piece, h, ids);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  /** Pre-tokenizes `text` with `splitter` and appends the ids of every piece. */
  encodeText(text: string, splitter: PieceSplitter, out: number[], scratch: string[] = []): void {
    const n = text.length;
    if (splitter.next) {
      for (let i = 0; i < n; ) {
        const end = splitter.next(text, i, n);
        this.encodeSpan(text, i, end, out);
        i = end;
      }
      return;
    }
    scratch.length = 0;
    splitter.split(text, scratch);
    for (let i = 0; i < scratch.length; i++) this.encodePiece(scratch[i], out);
    scratch.length = 0;
  }

  /** Ids of one piece, bypassing the cache. */
  encodeUncached(piece: string, observe?: MergeObserver): number[] {
    const bytes = utf8Encode(piece);
    if (this.direct) {
      const id = this.direct.lookup(bytes);
      if (id >= 0) return [id];
    }
    return this.mergeBytes(bytes, observe);
  }

  /** One piece for explain(): initial byte symbols, merged ids, and whether the shortcut applied. */
  explainPiece(piece: string, observe: MergeObserver): { initial: number[]; ids: number[]; direct: boolean } {
    const bytes = utf8Encode(piece);
    const initial = Array.from(bytes, (b) => this.byteIds[b]);
    if (this.direct) {
      const id = this.direct.lookup(bytes);
      if (id >= 0) return { initial, ids: [id], direct: true };
    }
    return { initial, ids: this.mergeBytes(bytes, observe), direct: false };
  }

  /** BPE over raw bytes (no shortcut). */
  mergeBytes(bytes: Uint8Array, observe?: MergeObserver): number[] {
    if (!observe && bytes.length > HEAP_THRESHOLD) {
      const ids = new Int32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) ids[i] = this.byteIds[bytes[i]];
      return mergeIds(ids, this.pairs);
    }
    const symbols: number[] = new Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) symbols[i] = this.byteIds[bytes[i]];
    return mergeSymbols(symbols, this.pairs, observe);
  }
}

/**
 * Derives the merge table of a tiktoken-style vocabulary: pair (a, b) merges with rank
 * rank(a ++ b) whenever a, b and a ++ b are all tokens. The leftmost-lowest-rank rule over
 * this table is exactly tiktoken's rule over byte concatenations, because every part that
 * rule ever holds is itself a token.
 */
export function pairsFromRanks(tokenBytes: ReadonlyArray<Uint8Array | undefined>): { pairs: PairTable; encoder: ByteTable } {
  const encoder = new ByteTable(tokenBytes);
  const pairs = new PairTable(tokenBytes.length * 3);
  tokenBytes.forEach((b, id) => {
    if (b && b.length >= 2) encoder.forEachSplit(b, (left, right) => pairs.set(left, right, id, id));
  });
  return { pairs, encoder };
}
