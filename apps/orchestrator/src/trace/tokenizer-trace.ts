/*
 * The tokenizer part of an internals trace: the prompt's pre-tokenized pieces with the BPE merges
 * applied to each, in order, from the tokenizer's own explain() (libs/tokenizer), laid over the
 * prompt's token ids. A token the post-processor added (a BOS) becomes a piece with empty text, so
 * the pieces' ids are exactly the prompt's ids and their texts concatenate to the prompt.
 *
 * What it is not: a second tokenizer. When explain()'s ids do not match the prompt's (a prompt
 * given as token ids that does not re-encode to itself), each token becomes its own piece (its
 * decoded text, no merges) so the trace still covers every id.
 */
import type { trace } from '@llm/proto';
import type { Tokenizer } from '@llm/tokenizer';

export function tokenizerTrace(tokenizer: Tokenizer, text: string, promptIds: readonly number[]): trace.TokenizerTrace {
  const ex = tokenizer.explain(text);
  const at = indexOfRun(promptIds, ex.ids);
  if (at < 0 || ex.pieces.map((p) => p.text).join('') !== text) return { pieces: promptIds.map((id) => tokenPiece(tokenizer, id)) };
  const added = (ids: readonly number[]) => ids.map((id) => ({ ...tokenPiece(tokenizer, id), text: '', special: true }));
  const pieces: trace.TokenizerPiece[] = ex.pieces.map((p) => ({
    text: p.text,
    tokenIds: p.ids,
    tokens: p.tokens,
    initial: p.initial,
    merges: p.merges.map((m) => ({ left: m.left, right: m.right, merged: m.merged, mergedId: m.mergedId, rank: m.rank, index: m.index })),
    special: p.special,
  }));
  return { pieces: [...added(promptIds.slice(0, at)), ...pieces, ...added(promptIds.slice(at + ex.ids.length))] };
}

function tokenPiece(tokenizer: Tokenizer, id: number): trace.TokenizerPiece {
  const name = tokenizer.idToToken(id) ?? `<${id}>`;
  return { text: tokenizer.decode([id], { skipSpecialTokens: false }), tokenIds: [id], tokens: [name], initial: [name], merges: [], special: tokenizer.specialTokens.has(name) };
}

/** First index where `run` occurs in `ids` contiguously, or -1. */
function indexOfRun(ids: readonly number[], run: readonly number[]): number {
  for (let i = 0; i + run.length <= ids.length; i++) {
    let j = 0;
    while (j < run.length && ids[i + j] === run[j]) j++;
    if (j === run.length) return i;
  }
  return -1;
}
