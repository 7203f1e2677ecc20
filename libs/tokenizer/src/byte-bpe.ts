/*
 * ByteBpe: byte-level BPE over one pre-tokenized piece, with a piece -> ids cache.
 *
 * What it is: the shared encoder of tiktoken encodings, byte-level tokenizer.json models
 * (GPT-2, Llama 3, Qwen2) and trained tokenizers. A piece's UTF-8 bytes start as
 * single-byte tokens and are merged by rank (bpe.ts). When `direct` is set, a piece that
 * is itself a token is emitted without merging (tiktoken's shortcut; HF `ignore_merges`).
 * A vocabulary may lack some of the 256 byte symbols (say, one trimmed to printable ASCII):
 * tiktoken encodings refuse that, tokenizer.json models pass a MissingBytes policy and an
 * input byte without a token becomes unk (fused when fuse_unk) or is dropped when there is
 * no unk token, as Hugging Face's BPE model does in merge_word.
 * What it is not: pre-tokenization or special tokens.
 * Reference: openai/tiktoken src/lib.rs (byte_pair_encode, the encoder shortcut);
 * huggingface/tokenizers src/models/bpe/model.rs (merge_word: unknown symbols).
 */
import { utf8Encode } from './bytes';
import { ByteTable } from './byte-table';
import { HEAP_THRESHOLD, mergeIds, mergeSymbols, type MergeObserver } from './bpe';
import { PairTable } from './pair-table';
import { PieceCache } from './piece-cache';
import type { PieceSplitter } from './splitter';

/** What to do with an input byte that has no single-byte token (tokenizer.json models). */
export interface MissingBytes {
  /** The unk token's id, or -1: then such bytes are dropped. */
  unkId: number;
  /** Consecutive unknown bytes become one unk. */
  fuseUnk: boolean;
}

export class ByteBpe {
  /** byte value -> id of the single-byte token (-1: none, see MissingBytes). */
  readonly byteIds = new Int32Array(256).fill(-1);
  /** Whether every byte has a token (the common case: symbols map 1:1 to bytes). */
  private readonly complete: boolean;
  private readonly cache = new PieceCache();

  /**
   * @param pairs merge table (ids of the two parts -> rank, merged id)
   * @param tokenBytes bytes of each id (holes allowed)
   * @param direct bytes -> id for the whole-piece shortcut, or null
   * @param missing policy for bytes without a token; absent: every byte must have one
   */
  constructor(
    readonly pairs: PairTable,
    readonly tokenBytes: ReadonlyArray<Uint8Array | undefined>,
    readonly direct: ByteTable | null,
    private readonly missing?: MissingBytes,
  ) {
    tokenBytes.forEach((b, id) => {
      if (b && b.length === 1 && this.byteIds[b[0]] < 0) this.byteIds[b[0]] = id;
    });
    const first = this.byteIds.indexOf(-1);
    this.complete = first < 0;
    if (!this.complete && !missing) throw new Error(`byte-level vocabulary has no token for byte 0x${first.toString(16).padStart(2, '0')}`);
  }

  /** The initial symbols of a piece's bytes: one per byte, except bytes without a token (unk or dropped). */
  private initialSymbols(bytes: Uint8Array): number[] {
    const out: number[] = [];
    const unkId = this.missing?.unkId ?? -1;
    let lastUnk = false;
    for (let i = 0; i < bytes.length; i++) {
      const id = this.byteIds[bytes[i]];
      if (id >= 0) {
        out.push(id);
        lastUnk = false;
      } else if (unkId >= 0) {
        if (!(this.missing?.fuseUnk && lastUnk)) out.push(unkId);
        lastUnk = true;
      }
    }
    return out;
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
    const initial = this.complete ? Array.from(bytes, (b) => this.byteIds[b]) : this.initialSymbols(bytes);
    if (this.direct) {
      const id = this.direct.lookup(bytes);
      if (id >= 0) return { initial, ids: [id], direct: true };
    }
    return { initial, ids: this.mergeBytes(bytes, observe), direct: false };
  }

  /** BPE over raw bytes (no shortcut). */
  mergeBytes(bytes: Uint8Array, observe?: MergeObserver): number[] {
    if (!this.complete) return mergeSymbols(this.initialSymbols(bytes), this.pairs, observe);
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
