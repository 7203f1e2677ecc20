/*
 * StopStringMatcher: finds stop strings in generated text that arrives in pieces (one token's
 * text at a time), so a stop string split across token boundaries is still found, and the stop
 * string itself never reaches the client.
 *
 * How: the matcher releases text only once it can no longer be the start of a stop string. After
 * each push it looks for the earliest complete stop string in `pending + delta`; without one it
 * holds back the longest suffix that is a proper prefix of some stop string and releases the rest.
 * Invariant: released text never contains the first character of a future match, because any
 * later match must start inside the held-back suffix.
 *
 * What it is not: a regex engine or an "include the stop string" option (vLLM's default,
 * include_stop_str_in_output=false, is the only behaviour). Follows vLLM's StopChecker semantics.
 */

export interface StopMatch {
  /** Text released by this push (complete, safe to send). */
  text: string;
  /** The stop string that matched, when one did; the text before it is in `text`. */
  stop?: string;
}

export class StopStringMatcher {
  private pending = '';
  private readonly stops: string[];

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /** Text held back because it may still begin a stop string. */
  get heldBack(): string {
    return this.pending;
  }

  /**
   * Adds a delta. With `allowStop` false (min_tokens not reached yet) a complete stop string is
   * released as ordinary text, as vLLM skips stop checks before min_tokens.
   */
  push(delta: string, allowStop = true): StopMatch {
    const s = this.pending + delta;
    if (this.stops.length === 0) {
      this.pending = '';
      return { text: s };
    }
    const hit = allowStop ? earliestMatch(s, this.stops) : undefined;
    if (hit) {
      this.pending = '';
      return { text: s.slice(0, hit.at), stop: hit.stop };
    }
    const keep = longestPrefixSuffix(s, this.stops);
    this.pending = s.slice(s.length - keep);
    return { text: s.slice(0, s.length - keep) };
  }

  /** Ends the stream: whatever was held back is ordinary text after all. */
  flush(): string {
    const s = this.pending;
    this.pending = '';
    return s;
  }
}

/** Earliest start of any stop string in s (ties: the longer stop string). */
function earliestMatch(s: string, stops: readonly string[]): { at: number; stop: string } | undefined {
  let best: { at: number; stop: string } | undefined;
  for (const stop of stops) {
    const at = s.indexOf(stop);
    if (at < 0) continue;
    if (!best || at < best.at || (at === best.at && stop.length > best.stop.length)) best = { at, stop };
  }
  return best;
}

/** Length of the longest suffix of s that is a proper prefix of some stop string. */
function longestPrefixSuffix(s: string, stops: readonly string[]): number {
  let best = 0;
  for (const stop of stops) {
    const max = Math.min(stop.length - 1, s.length);
    for (let k = max; k > best; k--) {
      if (s.endsWith(stop.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}
