/*
 * The tokenizer.json BPE model: vocab + ordered merges, on bytes (byte-level models:
 * GPT-2, Llama 3, Qwen2, SmolLM) or on characters with byte_fallback (Llama 2, Mistral).
 *
 * What it is: building the merge table from `model.merges` (rank = index, the merged token
 * must be in the vocab), initial symbols (bytes; or chars, falling back to <0xXX> byte
 * tokens, else unk with fuse_unk), `ignore_merges` (a piece that is a token is emitted
 * whole), and a piece -> ids cache.
 * What it is not: WordPiece/Unigram/WordLevel (reported as unsupported), dropout,
 * continuing_subword_prefix / end_of_word_suffix (reported as unsupported).
 * Reference: huggingface/tokenizers src/models/bpe/model.rs and word.rs.
 */
import { TokenizerError } from '../errors';
import { ByteBpe } from '../byte-bpe';
import { mergeSymbols, type MergeObserver } from '../bpe';
import { byteLevelToBytes, utf8Encode } from '../bytes';
import { ByteTable } from '../byte-table';
import { PairTable } from '../pair-table';
import { arr, bool, obj, optStr, TokenizerJsonError, unsupported, type Json, type JsonObject } from './fields';

const MAX_CACHED_PIECE = 64;
const MAX_CACHE_ENTRIES = 1 << 18;

export class HfBpeModel {
  readonly vocab = new Map<string, number>();
  readonly idToToken: string[] = [];
  readonly pairs: PairTable;
  readonly byteBpe: ByteBpe | null;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  private readonly unkId: number;
  private readonly fuseUnk: boolean;
  private readonly byteTokenIds = new Int32Array(256).fill(-1);
  private cache = new Map<string, number | number[]>();

  constructor(json: Json, byteLevel: boolean, path = 'model') {
    const o = obj(json, path);
    if (o.type !== undefined && o.type !== 'BPE') unsupported(path, o.type, ['BPE']);
    checkUnsupportedOptions(o, path);
    const vocab = obj(o.vocab, `${path}.vocab`);
    for (const [token, id] of Object.entries(vocab)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new TokenizerJsonError(`${path}.vocab[${JSON.stringify(token)}]`, 'a non-negative integer id', id);
      this.vocab.set(token, id);
      this.idToToken[id] = token;
    }
    this.byteFallback = bool(o, 'byte_fallback', path, false);
    this.ignoreMerges = bool(o, 'ignore_merges', path, false);
    this.fuseUnk = bool(o, 'fuse_unk', path, false);
    const unk = optStr(o, 'unk_token', path);
    this.unkId = unk === null ? -1 : (this.vocab.get(unk) ?? -1);
    if (unk !== null && this.unkId < 0) throw new TokenizerJsonError(`${path}.unk_token`, 'a token of model.vocab', unk);
    for (let b = 0; b < 256; b++) {
      this.byteTokenIds[b] = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    }
    this.pairs = this.buildPairs(arr(o, 'merges', path), path);
    this.byteBpe = byteLevel ? this.buildByteBpe() : null;
  }

  private buildPairs(merges: Json[], path: string): PairTable {
    const pairs = new PairTable(merges.length);
    merges.forEach((m, rank) => {
      const where = `${path}.merges[${rank}]`;
      let left: string;
      let right: string;
      if (typeof m === 'string') {
        const sp = m.indexOf(' ', 1);
        if (sp < 0) throw new TokenizerJsonError(where, 'a "left right" string or a [left, right] pair', m);
        left = m.slice(0, sp);
        right = m.slice(sp + 1);
      } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
        [left, right] = m as [string, string];
      } else throw new TokenizerJsonError(where, 'a "left right" string or a [left, right] pair', m);
      const a = this.vocab.get(left);
      const b = this.vocab.get(right);
      const merged = this.vocab.get(left + right);
      if (a === undefined || b === undefined || merged === undefined) {
        throw new TokenizerJsonError(where, 'a pair whose parts and concatenation are in model.vocab', m);
      }
      pairs.set(a, b, rank, merged);
    });
    return pairs;
  }

  private buildByteBpe(): ByteBpe {
    const tokenBytes: Array<Uint8Array | undefined> = this.idToToken.map((t) => (t === undefined ? undefined : (byteLevelToBytes(t) ?? undefined)));
    // A byte without a token becomes unk, or is dropped when there is none (as Hugging Face does).
    const missing = { unkId: this.unkId, fuseUnk: this.fuseUnk };
    return new ByteBpe(this.pairs, tokenBytes, this.ignoreMerges ? new ByteTable(tokenBytes) : null, missing);
  }

  /** Appends the ids of one pre-tokenized piece. */
  encodePiece(piece: string, out: number[]): void {
    if (this.byteBpe) return this.byteBpe.encodePiece(piece, out);
    const hit = this.cache.get(piece);
    if (hit !== undefined) {
      if (typeof hit === 'number') out.push(hit);
      else for (let i = 0; i < hit.length; i++) out.push(hit[i]);
      return;
    }
    const ids = this.encodeChars(piece);
    if (piece.length <= MAX_CACHED_PIECE) {
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(piece, ids.length === 1 ? ids[0] : ids);
    }
    for (const id of ids) out.push(id);
  }

  private encodeChars(piece: string, observe?: MergeObserver): number[] {
    if (this.ignoreMerges) {
      const id = this.vocab.get(piece);
      if (id !== undefined) return [id];
    }
    return mergeSymbols(this.initialChars(piece), this.pairs, observe);
  }

  /** One symbol per char; unknown chars become byte tokens (byte_fallback) or unk. */
  initialChars(piece: string): number[] {
    const out: number[] = [];
    let lastUnk = false;
    for (const ch of piece) {
      const id = this.vocab.get(ch);
      if (id !== undefined) {
        out.push(id);
        lastUnk = false;
        continue;
      }
      if (this.byteFallback) {
        const bytes = utf8Encode(ch);
        const ids = Array.from(bytes, (b) => this.byteTokenIds[b]);
        if (ids.every((x) => x >= 0)) {
          out.push(...ids);
          lastUnk = false;
          continue;
        }
      }
      if (this.unkId < 0) throw new TokenizerError(`tokenizer.json: cannot encode ${JSON.stringify(ch)}: not in model.vocab and model.unk_token is null`);
      if (!(this.fuseUnk && lastUnk)) out.push(this.unkId);
      lastUnk = true;
    }
    return out;
  }

  explainPiece(piece: string, observe: MergeObserver): { initial: number[]; ids: number[]; direct: boolean } {
    if (this.byteBpe) return this.byteBpe.explainPiece(piece, observe);
    const initial = this.initialChars(piece);
    if (this.ignoreMerges && this.vocab.has(piece)) return { initial, ids: [this.vocab.get(piece)!], direct: true };
    return { initial, ids: mergeSymbols(initial.slice(), this.pairs, observe), direct: false };
  }
}

function checkUnsupportedOptions(o: JsonObject, path: string): void {
  if (o.dropout !== undefined && o.dropout !== null && o.dropout !== 0) {
    throw new Error(`tokenizer.json: ${path}.dropout ${JSON.stringify(o.dropout)} is not supported (BPE dropout is random; use null)`);
  }
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    if (o[key] !== undefined && o[key] !== null && o[key] !== '') {
      throw new Error(`tokenizer.json: ${path}.${key} ${JSON.stringify(o[key])} is not supported`);
    }
  }
}
