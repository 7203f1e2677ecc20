/*
 * BPE training: learn merges from a corpus until the vocabulary reaches an exact size.
 *
 * What it is: byte-level BPE training as in GPT-2 / minbpe. The corpus is pre-tokenized
 * (GPT-2 pattern by default), identical pieces are counted once with a frequency, and each
 * piece starts as its UTF-8 bytes (ids 0..255). Pair counts are kept incrementally: a merge
 * only revisits the pieces that contain the merged pair (an index pair -> pieces), and the
 * best pair comes from a max-heap with lazy re-validation, never from a full recount.
 * Ties in count go to the smaller (left id, right id), as in Hugging Face's trainer.
 * What it is not: a SentencePiece/unigram trainer, or normalization of the corpus.
 * Reference: Sennrich et al. 2016 (BPE), Radford et al. 2019 (byte-level BPE, GPT-2),
 * huggingface/tokenizers models/bpe/trainer.rs.
 */
import { concatBytes, utf8Encode } from './bytes';
import { TokenizerError } from './errors';
import { RegexSplitter } from './splitter';

/** GPT-2's split pattern (the Hugging Face ByteLevel pre-tokenizer's regex). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export interface TrainOptions {
  /** Final vocabulary size: 256 byte tokens + merges + special tokens. */
  vocabSize: number;
  /** Special tokens, given the last ids (counted inside vocabSize). */
  specialTokens?: string[];
  /** Split pattern used to pre-tokenize the corpus (default GPT-2's). */
  pattern?: string;
  /** Called as merges are learned (done of total), at most ~100 times plus at the end. */
  onProgress?: (done: number, total: number) => void;
}

export interface TrainedBpe {
  vocabSize: number;
  pattern: string;
  /** merges[i] = [left id, right id]; it creates id 256 + i. */
  merges: Array<[number, number]>;
  /** Bytes of ids 0 .. 256 + merges.length - 1. */
  tokenBytes: Uint8Array[];
  /** Special tokens with their ids (after the merged tokens). */
  specialTokens: Array<{ content: string; id: number }>;
}

const KEY = 2097152; // 2^21: pair key = left * 2^21 + right (ids < 2^21)

interface Words {
  symbols: number[][];
  freq: number[];
}

/** Learns byte-level BPE merges from `corpus` up to exactly `opts.vocabSize` ids. */
export function trainBpe(corpus: string, opts: TrainOptions): TrainedBpe {
  const steps = trainSteps(corpus, opts);
  for (let r = steps.next(); ; r = steps.next()) if (r.done) return r.value;
}

/**
 * trainBpe that yields to the event loop between batches of merges, so a server stays
 * responsive and progress can be streamed while it trains. Same result as trainBpe.
 */
export async function trainBpeAsync(corpus: string, opts: TrainOptions): Promise<TrainedBpe> {
  const steps = trainSteps(corpus, opts);
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The training loop as a generator: yields after every batch of merges (~1% of them). */
function* trainSteps(corpus: string, opts: TrainOptions): Generator<number, TrainedBpe, void> {
  const specials = opts.specialTokens ?? [];
  const pattern = opts.pattern ?? GPT2_PATTERN;
  validate(opts, specials);
  const numMerges = opts.vocabSize - 256 - specials.length;
  const words = countWords(corpus, pattern);
  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  words.symbols.forEach((w, wi) => addPairs(w, words.freq[wi], wi, counts, where));
  const heap = new PairHeap();
  for (const [key, c] of counts) heap.push(c, key);

  const merges: Array<[number, number]> = [];
  const tokenBytes: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  const step = Math.max(1, Math.floor(numMerges / 100));
  while (merges.length < numMerges) {
    const key = popBest(heap, counts);
    if (key < 0) {
      throw new TokenizerError(
        `trainBpe: the corpus has only enough distinct pairs for ${merges.length} merges, ` +
          `vocabSize ${opts.vocabSize} needs ${numMerges} (use a larger corpus or a smaller vocabSize)`,
      );
    }
    const a = Math.floor(key / KEY);
    const b = key - a * KEY;
    const id = 256 + merges.length;
    merges.push([a, b]);
    tokenBytes.push(concatBytes([tokenBytes[a], tokenBytes[b]]));
    applyMerge(words, a, b, id, counts, where, heap);
    if (merges.length % step === 0 || merges.length === numMerges) {
      opts.onProgress?.(merges.length, numMerges);
      yield merges.length;
    }
  }
  return {
    vocabSize: opts.vocabSize,
    pattern,
    merges,
    tokenBytes,
    specialTokens: specials.map((content, i) => ({ content, id: 256 + numMerges + i })),
  };
}

function validate(opts: TrainOptions, specials: string[]): void {
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 256 + specials.length) {
    throw new TokenizerError(`trainBpe: vocabSize must be an integer >= ${256 + specials.length} (256 bytes + special tokens), got ${opts.vocabSize}`);
  }
  if (opts.vocabSize > KEY) throw new TokenizerError(`trainBpe: vocabSize must be at most ${KEY}, got ${opts.vocabSize}`);
  if (new Set(specials).size !== specials.length || specials.some((s) => s.length === 0)) {
    throw new TokenizerError('trainBpe: specialTokens must be distinct non-empty strings');
  }
}

/** Pre-tokenizes and counts identical pieces; each piece becomes its byte ids. */
function countWords(corpus: string, pattern: string): Words {
  const pieces: string[] = [];
  new RegexSplitter(pattern).split(corpus, pieces);
  const freq = new Map<string, number>();
  for (const p of pieces) freq.set(p, (freq.get(p) ?? 0) + 1);
  const words: Words = { symbols: [], freq: [] };
  for (const [p, f] of freq) {
    words.symbols.push(Array.from(utf8Encode(p)));
    words.freq.push(f);
  }
  return words;
}

function addPairs(w: number[], f: number, wi: number, counts: Map<number, number>, where: Map<number, Set<number>>): void {
  for (let i = 0; i + 1 < w.length; i++) {
    const key = w[i] * KEY + w[i + 1];
    counts.set(key, (counts.get(key) ?? 0) + f);
    let set = where.get(key);
    if (!set) where.set(key, (set = new Set()));
    set.add(wi);
  }
}

/** Pops the pair with the highest current count (ties: smallest key); -1 when none is left. */
function popBest(heap: PairHeap, counts: Map<number, number>): number {
  while (heap.size > 0) {
    const [c, key] = heap.pop();
    const now = counts.get(key) ?? 0;
    // every count change pushed a fresh entry, so an entry whose count differs is stale
    if (now === c && c > 0) return key;
  }
  return -1;
}

/** Replaces (a, b) by `id` in every piece that holds it, updating counts incrementally. */
function applyMerge(
  words: Words,
  a: number,
  b: number,
  id: number,
  counts: Map<number, number>,
  where: Map<number, Set<number>>,
  heap: PairHeap,
): void {
  const key = a * KEY + b;
  const affected = where.get(key);
  where.delete(key);
  if (!affected) return;
  const touched = new Set<number>();
  for (const wi of affected) {
    const w = words.symbols[wi];
    const f = words.freq[wi];
    if (!containsPair(w, a, b)) continue;
    // remove the piece's old pairs, merge left to right, add its new pairs
    for (let i = 0; i + 1 < w.length; i++) {
      const k = w[i] * KEY + w[i + 1];
      counts.set(k, (counts.get(k) as number) - f);
      touched.add(k);
    }
    const merged: number[] = [];
    for (let i = 0; i < w.length; i++) {
      if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
        merged.push(id);
        i++;
      } else merged.push(w[i]);
    }
    words.symbols[wi] = merged;
    addPairs(merged, f, wi, counts, where);
    for (let i = 0; i + 1 < merged.length; i++) touched.add(merged[i] * KEY + merged[i + 1]);
  }
  counts.delete(key);
  for (const k of touched) {
    const c = counts.get(k) ?? 0;
    if (c > 0) heap.push(c, k);
    else counts.delete(k);
  }
}

function containsPair(w: number[], a: number, b: number): boolean {
  for (let i = 0; i + 1 < w.length; i++) if (w[i] === a && w[i + 1] === b) return true;
  return false;
}

/** Max-heap of (count, pair key); ties pop the smaller key first. Flat Float64Arrays. */
class PairHeap {
  private c = new Float64Array(1024);
  private k = new Float64Array(1024);
  size = 0;

  private before(i: number, j: number): boolean {
    return this.c[i] > this.c[j] || (this.c[i] === this.c[j] && this.k[i] < this.k[j]);
  }

  private swap(i: number, j: number): void {
    const tc = this.c[i];
    this.c[i] = this.c[j];
    this.c[j] = tc;
    const tk = this.k[i];
    this.k[i] = this.k[j];
    this.k[j] = tk;
  }

  push(count: number, key: number): void {
    if (this.size === this.c.length) {
      const c = new Float64Array(this.size * 2);
      c.set(this.c);
      const k = new Float64Array(this.size * 2);
      k.set(this.k);
      this.c = c;
      this.k = k;
    }
    let i = this.size++;
    this.c[i] = count;
    this.k[i] = key;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.c[0], this.k[0]];
    this.size--;
    this.c[0] = this.c[this.size];
    this.k[0] = this.k[this.size];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.before(l, m)) m = l;
      if (r < this.size && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}
