/*
 * A tokenized corpus streamed as (B, T) training windows, nanoGPT DataLoaderLite style:
 * a cursor walks the token array in strides of T; window b of a batch is
 * inputs = tokens[c + b·T .. c + (b+1)·T), targets = the same shifted by one token.
 * When fewer than T + 1 tokens remain, the cursor wraps to 0 (small corpora repeat). The cursor is the whole
 * state, so a checkpoint resumes on exactly the next batch.
 *
 * Not shuffling or sharding: one ordered pass per epoch over one in-memory array.
 */
import type { Batch } from '../model/loss';

export class TokenWindows {
  private cursor = 0;

  constructor(
    private readonly tokens: Int32Array,
    readonly B: number,
    readonly T: number,
    readonly source = 'corpus',
  ) {
    if (!(B >= 1 && T >= 1)) throw new Error(`TokenWindows: B and T must be >= 1 (got B=${B}, T=${T})`);
    if (tokens.length < T + 1) {
      throw new Error(
        `${source} tokenizes to ${tokens.length} tokens, fewer than one window of ${T + 1} (T=${T} plus the next-token target); use a larger corpus or a smaller --seq-len`,
      );
    }
  }

  next(): Batch {
    const { B, T } = this;
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      if (this.cursor + T + 1 > this.tokens.length) this.cursor = 0;
      inputs.set(this.tokens.subarray(this.cursor, this.cursor + T), b * T);
      targets.set(this.tokens.subarray(this.cursor + 1, this.cursor + T + 1), b * T);
      this.cursor += T;
    }
    return { inputs, targets, B, T };
  }

  getState(): number {
    return this.cursor;
  }

  setState(cursor: number): void {
    if (!(Number.isInteger(cursor) && cursor >= 0 && cursor + this.T + 1 <= this.tokens.length)) {
      throw new Error(`TokenWindows: cursor ${cursor} is outside the corpus of ${this.tokens.length} tokens`);
    }
    this.cursor = cursor;
  }
}
