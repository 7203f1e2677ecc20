/*
 * ThreadSegment: one decoder segment graph run on its own thread (OrtThreadSession), so a step
 * never blocks the event loop. The segment's layers' K/V pools live on that thread as resident
 * tensors (ORT refuses SharedArrayBuffer feeds, so they cannot be shared): each run feeds them by
 * name and scatters its new K/V into them at the batch's slots, and block copies are replayed
 * there. The caller's KvPool stays the authority and an exact mirror: OrtBackend writes the same
 * new K/V into it from the returned k_new / v_new and applies the same copies, so everything that
 * reads runner.pool sees what the graph sees.
 *
 * Binding: the thread's pools are uploaded from the first KvPool a step passes, and again
 * whenever a step passes a different pool object. NOTE: writes into a bound pool made by anything
 * other than the steps and applyBlockCopies are not seen by the thread (the worker writes the pool
 * only through those two).
 *
 * Not a scheduler and not a thread pool: one thread per segment, runs in call order. Memory: the
 * pool exists twice (the mirror on the main thread and the resident copy on the thread).
 */
import { OrtThreadSession, type ResidentWrite, type ThreadOutput } from '@llm/tensor';
import type { FlatBatch, KvPool } from '../runner/types';
import type { SegmentPlan } from './decoder-graph';
import { STEP, type StepLayout } from './step-io';

export class ThreadSegment {
  private bound: KvPool | undefined;

  constructor(
    readonly plan: SegmentPlan,
    private readonly session: OrtThreadSession,
  ) {}

  /** Opens the segment's graph on a new thread; the bytes move to the thread (the caller's view empties). */
  static async open(plan: SegmentPlan, bytes: Uint8Array, threads: number): Promise<ThreadSegment> {
    return new ThreadSegment(plan, await OrtThreadSession.create(bytes, { threads, transferBytes: true }));
  }

  /** Runs the segment over `feeds` (everything but the pools); the thread's pools take the new K/V. */
  async run(feeds: Record<string, { type: string; data: unknown; dims: readonly number[] }>, pool: KvPool, batch: FlatBatch, layout: StepLayout): Promise<Record<string, ThreadOutput>> {
    const layers = this.plan.layers;
    if (layers.length === 0) return this.session.run(feeds);
    if (this.bound !== pool) await this.bind(pool);
    const { srcRows, slots } = newKvRows(batch, layout);
    const rowFloats = pool.numKvHeads * pool.headDim;
    const writes: ResidentWrite[] = [
      { output: STEP.kNew, targets: layers.map(STEP.kPool), srcRows, slots, rowFloats },
      { output: STEP.vNew, targets: layers.map(STEP.vPool), srcRows, slots, rowFloats },
    ];
    return this.session.run(feeds, { residentFeeds: [...layers.map(STEP.kPool), ...layers.map(STEP.vPool)], writes });
  }

  /** Replays copy-on-write block copies (already applied to `pool`) on the thread's pools. */
  async applyBlockCopies(pool: KvPool, copies: ReadonlyArray<{ src: number; dst: number }>): Promise<void> {
    if (copies.length === 0 || this.plan.layers.length === 0 || this.bound !== pool) return; // an unbound pool is uploaded whole on its first step
    const pairs = new Int32Array(copies.length * 2);
    copies.forEach((c, i) => pairs.set([c.src, c.dst], 2 * i));
    const names = [...this.plan.layers.map(STEP.kPool), ...this.plan.layers.map(STEP.vPool)];
    await this.session.copyRows(names, pairs, pool.blockSize * pool.numKvHeads * pool.headDim);
  }

  /** Copies `slots`' rows of the segment's layers from `pool` (written there by another backend) into the thread's pools. */
  async writeRows(pool: KvPool, slots: Int32Array): Promise<void> {
    const layers = this.plan.layers;
    if (layers.length === 0 || this.bound !== pool || slots.length === 0) return; // an unbound pool is uploaded whole on its first step
    const D = pool.numKvHeads * pool.headDim;
    const arrays = [...layers.map((l) => pool.k[l]), ...layers.map((l) => pool.v[l])];
    const data = new Float32Array(arrays.length * slots.length * D);
    arrays.forEach((a, j) => slots.forEach((s, i) => data.set(a.subarray(s * D, (s + 1) * D), (j * slots.length + i) * D)));
    await this.session.writeRows([...layers.map(STEP.kPool), ...layers.map(STEP.vPool)], slots, data, D);
  }

  /** Forgets the bound pool (its next step uploads it whole): after something else wrote it, e.g. a traced step. */
  invalidate(): void {
    this.bound = undefined;
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  private async bind(pool: KvPool): Promise<void> {
    const dims = [pool.numBlocks * pool.blockSize * pool.numKvHeads, pool.headDim]; // (slots * NKV, HS)
    for (const l of this.plan.layers) {
      await this.session.setResident(STEP.kPool(l), pool.k[l], dims);
      await this.session.setResident(STEP.vPool(l), pool.v[l], dims);
    }
    this.bound = pool;
  }
}

/** For each new token t of sequence s: its k_new row s * Tmax + t and its pool slot. */
function newKvRows(batch: FlatBatch, layout: StepLayout): { srcRows: Int32Array; slots: Int32Array } {
  const srcRows = new Int32Array(layout.numTokens);
  const slots = new Int32Array(layout.numTokens);
  let i = 0;
  batch.seqs.forEach((seq, s) => {
    for (let t = 0; t < seq.numNewTokens; t++, i++) {
      srcRows[i] = s * layout.maxNew + t;
      slots[i] = batch.slotMapping[seq.start + t];
    }
  });
  return { srcRows, slots };
}
