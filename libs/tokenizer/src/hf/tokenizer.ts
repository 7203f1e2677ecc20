/*
 * A Hugging Face tokenizer.json as a Tokenizer: added tokens, normalizer, pre-tokenizer,
 * BPE model, post-processor and decoder, each built from its JSON component.
 *
 * What it is: encode = split on added tokens -> normalize each segment -> pre-tokenize ->
 * BPE per piece -> post-process (BOS/EOS); decode = ids -> token strings -> decoder chain.
 * Ids equal the reference implementation's on real Llama 2 and Llama 3 files (tested).
 * What it is not: truncation/padding/offsets; components outside the supported lists are
 * errors that name them.
 * Reference: huggingface/tokenizers src/tokenizer/mod.rs (encode pipeline) and
 * added_vocabulary.rs (lstrip/rstrip, split before normalization).
 */
import { TokenizerError } from '../errors';
import { utf8Decode } from '../bytes';
import { explainPieces } from '../explain';
import { resolveSpecial, splitOnSpecials, type Segment } from '../special';
import type { DecodeOptions, EncodeOptions, Explanation, Tokenizer } from '../types';
import { buildDecoder, partsToBytes, type Decoder, type Part } from './decoders';
import { bool, int, obj, str, TokenizerJsonError, type Json } from './fields';
import { HfBpeModel } from './model';
import { buildNormalizer, type Normalizer } from './normalizers';
import { buildPostProcessor, type PostProcessor } from './post-processors';
import { buildPreTokenizer, fastByteLevelSplitter, type PreTokenizer } from './pre-tokenizers';
import type { PieceSplitter } from '../splitter';

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
}

export class HfTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly model: HfBpeModel;
  private readonly added = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer;
  private readonly postProcessor: PostProcessor | null;
  private readonly decoder: Decoder | null;
  /** Set when the pre-tokenizer is one scanner over a byte-level model (the fast path). */
  private readonly fastSplitter: PieceSplitter | null;

  constructor(json: Json, name = 'tokenizer.json') {
    const root = obj(json, '(root)');
    this.name = name;
    this.normalizer = buildNormalizer(root.normalizer ?? null);
    const pre = buildPreTokenizer(root.pre_tokenizer ?? null);
    this.preTokenizer = pre.run;
    if (root.model === undefined) throw new TokenizerJsonError('model', 'an object');
    this.model = new HfBpeModel(root.model, pre.byteLevel);
    this.postProcessor = buildPostProcessor(root.post_processor ?? null);
    this.decoder = buildDecoder(root.decoder ?? null);
    this.fastSplitter = this.model.byteBpe ? fastByteLevelSplitter(root.pre_tokenizer ?? null) : null;
    this.readAddedTokens(root.added_tokens ?? []);
    this.specialTokens = new Map([...this.addedByContent].map(([c, t]) => [c, t.id]));
    let maxId = this.model.idToToken.length - 1;
    for (const id of this.added.keys()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
  }

  private readAddedTokens(list: Json): void {
    if (!Array.isArray(list)) throw new TokenizerJsonError('added_tokens', 'an array', list);
    list.forEach((item, i) => {
      const path = `added_tokens[${i}]`;
      const o = obj(item, path);
      if (bool(o, 'single_word', path, false)) throw new Error(`tokenizer.json: ${path}.single_word true is not supported`);
      const t: AddedToken = {
        id: int(o, 'id', path),
        content: str(o, 'content', path),
        special: bool(o, 'special', path, false),
        lstrip: bool(o, 'lstrip', path, false),
        rstrip: bool(o, 'rstrip', path, false),
      };
      if (t.content.length === 0) throw new TokenizerJsonError(`${path}.content`, 'a non-empty string', t.content);
      this.added.set(t.id, t);
      this.addedByContent.set(t.content, t);
    });
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const allowed = resolveSpecial(text, this.specialTokens, opts.allowedSpecial, opts.disallowedSpecial, 'all');
    const ids: number[] = [];
    const segments = this.segments(text, allowed);
    segments.forEach((seg, i) => {
      if (seg.special >= 0) ids.push(seg.special);
      else this.encodeSegment(seg.text, i === 0, ids);
    });
    return opts.addSpecialTokens === false || !this.postProcessor ? ids : this.postProcessor(ids);
  }

  encodeOrdinary(text: string): number[] {
    const ids: number[] = [];
    this.encodeSegment(text, true, ids);
    return ids;
  }

  private encodeSegment(text: string, first: boolean, out: number[]): void {
    if (text.length === 0) return;
    const normalized = this.normalizer ? this.normalizer(text) : text;
    if (this.fastSplitter) return this.model.byteBpe!.encodeText(normalized, this.fastSplitter, out);
    for (const piece of this.preTokenizer([normalized], first)) {
      if (piece.length > 0) this.model.encodePiece(piece, out);
    }
  }

  /** Splits on allowed added tokens, applying their lstrip/rstrip to the neighbouring text. */
  private segments(text: string, allowed: ReadonlySet<string>): Segment[] {
    const segs = splitOnSpecials(text, allowed, this.specialTokens);
    for (let i = 0; i < segs.length; i++) {
      if (segs[i].special < 0) continue;
      const t = this.added.get(segs[i].special)!;
      if (t.lstrip && i > 0 && segs[i - 1].special < 0) segs[i - 1].text = segs[i - 1].text.trimEnd();
      if (t.rstrip && i + 1 < segs.length && segs[i + 1].special < 0) segs[i + 1].text = segs[i + 1].text.trimStart();
    }
    return segs.filter((s) => s.special >= 0 || s.text.length > 0);
  }

  private tokensOf(ids: readonly number[], opts: DecodeOptions): string[] {
    const out: string[] = [];
    for (const id of ids) {
      const added = this.added.get(id);
      if (added) {
        if (!(opts.skipSpecialTokens && added.special)) out.push(added.content);
        continue;
      }
      const t = this.model.idToToken[id];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError(`token id ${id} is out of range for ${this.name} (valid ids: 0..${this.vocabSize - 1})`);
      }
      // NOTE: an id inside the range that names no token (a trimmed vocabulary) decodes to nothing, as in Hugging Face.
      if (t !== undefined) out.push(t);
    }
    return out;
  }

  private decodeParts(ids: readonly number[], opts: DecodeOptions, position: number, stream: boolean): Part[] {
    const tokens: Part[] = this.tokensOf(ids, opts);
    return this.decoder ? this.decoder(tokens, { position, stream, fused: false }) : [(tokens as string[]).join('')];
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    return this.decodeParts(ids, opts, 0, false)
      .map((p) => (typeof p === 'string' ? p : utf8Decode(p)))
      .join('');
  }

  decodeBytes(ids: readonly number[], opts: DecodeOptions = {}): Uint8Array {
    return partsToBytes(this.decodeParts(ids, opts, 0, true));
  }

  streamBytes(id: number, position: number, opts: DecodeOptions = {}): Uint8Array {
    return partsToBytes(this.decodeParts([id], opts, position, true));
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.added.get(id)?.content ?? this.model.idToToken[id];
  }

  tokenText(id: number): string {
    const added = this.added.get(id);
    if (added) return added.content;
    const bytes = this.model.byteBpe?.tokenBytes[id];
    if (bytes) return utf8Decode(bytes);
    const t = this.model.idToToken[id];
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`token id ${id} is out of range for ${this.name} (valid ids: 0..${this.vocabSize - 1})`);
    }
    return t ?? '';
  }

  explain(text: string, opts: EncodeOptions = {}): Explanation {
    const allowed = resolveSpecial(text, this.specialTokens, opts.allowedSpecial, opts.disallowedSpecial, 'all');
    const segs = this.segments(text, allowed).map((s) => (s.special >= 0 ? s : { ...s, text: this.normalizer ? this.normalizer(s.text) : s.text }));
    return explainPieces(segs.map((s) => s.text).join(''), segs, {
      split: (t, segment) => this.preTokenizer([t], segment === 0).filter((p) => p.length > 0),
      bpePiece: (piece, observe) => this.model.explainPiece(piece, observe),
      tokenName: (id) => this.idToToken(id) ?? `<${id}>`,
    });
  }
}

/** Loads a tokenizer.json (parsed object or JSON text). */
export function loadTokenizerJson(json: object | string, name?: string): HfTokenizer {
  let parsed: Json;
  if (typeof json === 'string') {
    try {
      parsed = JSON.parse(json) as Json;
    } catch (err) {
      throw new Error(`tokenizer.json is not valid JSON: ${(err as Error).message}`);
    }
  } else parsed = json as Json;
  return new HfTokenizer(parsed, name);
}


