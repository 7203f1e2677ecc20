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
 * Greedy sequences get the draft's argmax. A sampling sequence (temperature > 0) gets drafts drawn
 * from the draft's own distribution q under the sequence's sampling parameters (penalties counting
 * the drafts before it), with its own counter-based uniform (uniforms.ts); q goes to the verifier,
 * which keeps the target distribution with the general rule min(1, p/q) (rejection.ts).
 *
 * What this is not: a verifier.
 */
import { argmax } from '@llm/tensor';
import { applyBlockCopies, createKvPool } from '../runner/kv-pool';
import { buildFlatBatch } from '../runner/flat-batch';
import type { KvPool, StepBackend } from '../runner/types';
import type { StepSequenceInput } from '../runner/step-types';
import { recordOutputToken, type SamplingState } from '../sampling';
import { inverseCdf } from './rejection';
import { targetDistribution } from './target-dist';
import { draftUniform } from './uniforms';
import type { Draft, DraftRequest, DraftSampling, Speculator } from './speculator';

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

  async propose(requests: readonly DraftRequest[]): Promise<Draft[]> {
    const drafts: Draft[] = requests.map((r) => (r.sampling ? { tokens: [], q: [] } : { tokens: [] }));
    const counts = requests.map((r) => (r.sampling ? copyCounts(r.sampling.counts) : undefined));
    const going = requests.map(() => true);
    const take = (j: number, row: Float32Array) => {
      const { token, prob, q } = this.choose(row, requests[j].sampling, counts[j], drafts[j].tokens.length);
      drafts[j].tokens.push(token);
      if (q) (drafts[j].q as Float64Array[]).push(q);
      if (counts[j]) recordOutputToken(counts[j] as SamplingState, token);
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
        seqId: requests[j].seqId, tokenIds: [drafts[j].tokens[i - 1]], startPosition: requests[j].tokens.length + i - 1, blockIds: requests[j].blockIds, sample: true,
      }));
      await this.round(seqs, (a, row) => take(active[a], row));
    }
    return drafts;
  }

  /** One batched draft forward; emit(sequence index, its last logits row (V)). */
  private async round(seqs: StepSequenceInput[], emit: (i: number, row: Float32Array) => void): Promise<void> {
    const V = this.shape.vocabSize;
    const logits = await this.backend.forward(buildFlatBatch(seqs, this.pool.blockSize), this.pool); // (B, V)
    for (let i = 0; i < seqs.length; i++) emit(i, logits.subarray(i * V, (i + 1) * V));
  }

  /** The draft token of a row: argmax (greedy), or a draw from q; with the draft's probability of it. */
  private choose(row: Float32Array, sampling: DraftSampling | undefined, counts: SamplingState | undefined, j: number): { token: number; prob: number; q?: Float64Array } {
    if (!sampling || !counts || !(sampling.params.temperature > 0)) {
      const best = argmax(row);
      let z = 0;
      for (let v = 0; v < row.length; v++) z += Math.exp(row[v] - row[best]); // p(best) = 1 / sum_v e^(l_v - l_best)
      return { token: best, prob: 1 / z };
    }
    const { p: q } = targetDistribution(row, sampling.params, counts);
    const token = inverseCdf(q, draftUniform(sampling.seed, sampling.sampleIndex, sampling.numOutputTokens + j));
    return { token, prob: q[token], q };
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

function copyCounts(s: SamplingState): SamplingState {
  return { promptCounts: s.promptCounts, outputCounts: new Map(s.outputCounts) }; // only output counts change
}
