/*
 * Prompt-lookup drafts (n-gram speculation, as vLLM's NgramProposer and Saxena's "prompt lookup
 * decoding"): find the most recent earlier occurrence of the sequence's last n tokens (longest n
 * first, maxN down to minN) and propose the up to k tokens that followed it. Costs no model call;
 * it pays off where the output quotes its context (code edits, documents read back, lists).
 *
 * What this is not: a model of the text, or a verifier (verify.ts decides what is kept).
 *
 *   tokens:  a b c d e f b c d |      last 3 = "b c d", found at 1..3, followed by "e f b ..."
 *   propose (k = 2): [e, f]
 *
 * The copy may run past the end of the context into the tokens it has just proposed (an
 * overlapping copy, as in LZ77), so a loop of period p extends beyond its last occurrence:
 *   tokens:  x y z x y z x y  -> suffix "z x y" last seen at 2, copy from 5: z x y, then z x ...
 */

export interface NgramOptions {
  /** Shortest suffix matched (default 1). */
  minN?: number;
  /** Longest suffix matched, tried first (default 3). */
  maxN?: number;
}

/** Up to k draft tokens continuing `tokens` (T), or [] when no suffix recurs. O(T * maxN). */
export function proposeNgram(tokens: ArrayLike<number>, k: number, opts: NgramOptions = {}): number[] {
  const T = tokens.length;
  const minN = Math.max(1, opts.minN ?? 1);
  const maxN = Math.max(minN, opts.maxN ?? 3);
  if (k < 1 || T < minN + 1) return [];
  for (let n = Math.min(maxN, T - 1); n >= minN; n--) {
    // latest start i < T - n with tokens[i .. i + n) == tokens[T - n .. T)
    for (let i = T - n - 1; i >= 0; i--) {
      let j = 0;
      while (j < n && tokens[i + j] === tokens[T - n + j]) j++;
      if (j < n) continue;
      const out: number[] = [];
      for (let t = i + n; out.length < k; t++) out.push(t < T ? tokens[t] : out[t - T]); // t - T < out.length
      return out;
    }
  }
  return [];
}
