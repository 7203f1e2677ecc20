/*
 * Explain: the step-by-step BPE of a text made inspectable. For each pre-tokenized piece,
 * the initial symbols, every merge applied (pair, rank, resulting symbols) and the ids.
 *
 * What it is: a driver that re-runs a tokenizer's pieces through the merge loop with an
 * observer. Its ids equal encode()'s (tested).
 * What it is not: a fast path; it bypasses caches.
 * Reference: the worked BPE example (count pairs, merge the best, repeat) as in
 * Sennrich et al. 2016 and karpathy/minbpe.
 */
import type { MergeObserver } from './bpe';
import type { Segment } from './special';
import type { Explanation, ExplainedPiece, MergeStep } from './types';

export interface PieceExplainer {
  /** Pre-tokenizes ordinary text; `segment` is its index among all segments. */
  split(text: string, segment: number): string[];
  /** Runs BPE on one piece: initial symbols, final ids, and whether the vocab lookup short-cut applied. */
  bpePiece(piece: string, observe: MergeObserver): { initial: number[]; ids: number[]; direct: boolean };
  /** Spelling of a token in the vocabulary. */
  tokenName(id: number): string;
}

/** Explains already-normalized text split into ordinary and special segments. */
/** Explains already-normalized text split into ordinary and special segments. */
export function explainPieces(normalized: string, segments: readonly Segment[], ex: PieceExplainer): Explanation {
  const pieces: ExplainedPiece[] = [];
  for (const [i, seg] of segments.entries()) {
    if (seg.special >= 0) {
      const name = ex.tokenName(seg.special);
      const ids = [seg.special];
      pieces.push({ text: seg.text, special: true, initial: [name], initialIds: ids, merges: [], direct: true, ids, tokens: [name] });
      continue;
    }
    for (const text of ex.split(seg.text, i)) pieces.push(explainPiece(text, ex));
  }
  return { normalized, pieces, ids: pieces.flatMap((p) => p.ids) };
}

function explainPiece(text: string, ex: PieceExplainer): ExplainedPiece {
  const merges: MergeStep[] = [];
  const { initial, ids, direct } = ex.bpePiece(text, (left, right, merged, rank, index) => {
    const names = { left: ex.tokenName(left), right: ex.tokenName(right), merged: ex.tokenName(merged) };
    merges.push({ ...names, leftId: left, rightId: right, mergedId: merged, rank, index, symbols: [], symbolIds: [] });
  });
  // replay the merges on the symbol list so each step shows the symbols after it
  let symbolIds = initial.slice();
  for (const m of merges) {
    symbolIds = symbolIds.slice();
    symbolIds.splice(m.index, 2, m.mergedId);
    m.symbolIds = symbolIds;
    m.symbols = symbolIds.map((id) => ex.tokenName(id));
  }
  const tokens = ids.map((id) => ex.tokenName(id));
  return { text, special: false, initial: initial.map((id) => ex.tokenName(id)), initialIds: initial, merges, direct, ids, tokens };
}
