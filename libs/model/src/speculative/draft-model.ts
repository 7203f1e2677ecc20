/*
 * Draft-model speculation: a small model of the same vocabulary (e.g. 1-2 layers trained with
 * `llm train` on the target's data) proposes k tokens greedily, one batched forward per draft
 * position across every speculating sequence. Its K/V lives in its own paged pool that mirrors
 * the target's: same block count and block size, same block ids (the scheduler's block tables
 * and the kv-manager's copy-on-write copies apply to both), so it needs no allocator of its own.
 *
 *   target pool   | b12 | b4 | b31 |      block table [12, 4, 31] of sequence s
 *   draft pool    | b12 | b4 | b31 |      same ids, the draft's (L', NKV', HS') per slot
 *
 * The draft catches up lazily: it remembers how many of a sequence's tokens it computed and, the
 * first time the sequence speculates after that, computes the rest (the whole prompt the first
 * time) in the same forward as its first draft. Draft positions it writes past the sequence's
 * tokens are rewritten by the next catch-up, which always restarts at the last real token count.
 *
 *   round 0: tokens [computed .. T) at their positions -> argmax of the last row = d1
 *   round i: d_i at position T + i - 1                 -> argmax = d_{i+1}   (i = 1 .. k-1)
 *
 * A sequence stops drafting early once the draft's own probability of its last draft falls below
 * `minDraftProb` (softmax of its logits row): an unlikely draft is likely rejected, and each
 * further round costs a forward.
 *
 * What this is not: sampling from the draft (drafts are greedy, so verification uses
 * q = onehot(d), which keeps the target distribution exactly; see rejection.ts) or a verifier.
 */
import { argmax } from '@llm/tensor';
import { applyBlockCopies, createKvPool } from '../runner/kv-pool';
import { buildFlatBatch } from '../runner/flat-batch';
import type { KvPool, StepBackend } from '../runner/types';
import type { StepSequenceInput } from '../runner/step-types';
import type { DraftRequest, Speculator } from './speculator';

export interface DraftModelShape {
  vocabSize: number; // V, must equal the target's
  numLayers: number; // L'
  numKvHeads: number; // NKV'
  headDim: number; // HS'
}

export class DraftModelSpeculator implements Speculator {
  readonly method = 'draft';
  readonly pool: KvPool;
  /** Tokens of each sequence whose draft K/V is in place (positions 0 .. n - 1). */
  private readonly computed = new Map<string, number>();

  constructor(
    private readonly backend: StepBackend,
    private readonly shape: DraftModelShape,
    target: { numBlocks: number; blockSize: number },
    /** Stop a sequence's drafts after one the draft gives less than this probability (0: never). */
    private readonly minDraftProb = 0,
  ) {
    this.pool = createKvPool({ numBlocks: target.numBlocks, blockSize: target.blockSize, numLayers: shape.numLayers, numKvHeads: shape.numKvHeads, headDim: shape.headDim });
  }

  async propose(requests: readonly DraftRequest[]): Promise<number[][]> {
    const drafts: number[][] = requests.map(() => []);
    const going = requests.map(() => true);
    const take = (j: number, token: number, prob: number) => {
      drafts[j].push(token);
      if (prob < this.minDraftProb) going[j] = false;
    };
    // round 0: catch up and draft d1
    const first = requests.map((r): StepSequenceInput => {
      const T = r.tokens.length;
      const from = Math.min(this.computed.get(r.seqId) ?? 0, T - 1);
      return { seqId: r.seqId, tokenIds: Array.from(r.tokens).slice(from), startPosition: from, blockIds: r.blockIds, sample: true };
    });
    await this.round(first, take);
    requests.forEach((r) => this.computed.set(r.seqId, r.tokens.length));
    // rounds 1 .. k-1: one token per sequence still drafting
    for (let i = 1; ; i++) {
      const active = requests.map((r, j) => j).filter((j) => requests[j].k > i && going[j]);
      if (active.length === 0) break;
      const seqs = active.map((j): StepSequenceInput => ({
        seqId: requests[j].seqId, tokenIds: [drafts[j][i - 1]], startPosition: requests[j].tokens.length + i - 1, blockIds: requests[j].blockIds, sample: true,
      }));
      await this.round(seqs, (a, token, prob) => take(active[a], token, prob));
    }
    return drafts;
  }

  /** One batched draft forward; emit(sequence index, argmax of its last row, its softmax probability). */
  private async round(seqs: StepSequenceInput[], emit: (i: number, token: number, prob: number) => void): Promise<void> {
    const V = this.shape.vocabSize;
    const logits = await this.backend.forward(buildFlatBatch(seqs, this.pool.blockSize), this.pool); // (B, V)
    for (let i = 0; i < seqs.length; i++) {
      const row = logits.subarray(i * V, (i + 1) * V); // (V)
      const best = argmax(row);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(row[v] - row[best]); // p(best) = 1 / sum_v e^(l_v - l_best)
      emit(i, best, 1 / z);
    }
  }

  applyCopies(copies: readonly { src: number; dst: number }[]): void {
    applyBlockCopies(this.pool, copies);
  }

  reset(seqId: string): void {
    this.computed.delete(seqId);
  }

  release(seqIds: readonly string[]): void {
    for (const id of seqIds) this.computed.delete(id);
  }

  async dispose(): Promise<void> {
    await this.backend.dispose();
  }
}
