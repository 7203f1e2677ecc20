/*
 * Pre-tokenization: cutting text into the pieces that BPE encodes independently.
 *
 * What it is: the PieceSplitter interface and its reference implementation, a JS RegExp
 * compiled from the published pattern (matches are pieces; text between matches is
 * dropped, as in tiktoken's find_iter). Hand-written scanners (scanners.ts) implement the
 * same interface faster and are verified against this one.
 * What it is not: normalization or special-token handling.
 * Reference: openai/tiktoken tiktoken_ext/openai_public.py patterns.
 */
import { compileSplitPattern } from './regex';

export interface PieceSplitter {
  /** The published pattern this splitter implements. */
  readonly pattern: string;
  /** Appends the pieces of `text` to `out`. */
  split(text: string, out: string[]): void;
  /**
   * Optional fast path: end of the piece starting at `i` (pieces are contiguous and cover
   * the text). Scanners implement it so encoders can work on spans without substrings.
   */
  next?(text: string, i: number, n: number): number;
}

/** Splits with a RegExp translated from the pattern. */
export class RegexSplitter implements PieceSplitter {
  private readonly re: RegExp;

  constructor(readonly pattern: string) {
    this.re = compileSplitPattern(pattern);
  }

  split(text: string, out: string[]): void {
    const re = this.re;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      out.push(m[0]);
    }
  }

  /** Match spans [start, end) including gaps' positions (used by Split with behaviors). */
  spans(text: string): Array<[number, number]> {
    const re = this.re;
    const out: Array<[number, number]> = [];
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      out.push([m.index, m.index + m[0].length]);
    }
    return out;
  }
}
