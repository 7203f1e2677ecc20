/*
 * OrtBackend: the worker's fast StepBackend. The whole decoder runs as ONE ONNX Runtime
 * session per step for dense models (weights as initializers, attention in-graph over the K/V
 * the pool holds, new K/V returned and written into the pool here), or as one session per
 * segment between MoE layers, whose FFNs go through a MoeLayerExecutor (in-process or the
 * router service), so a model with M MoE layers makes M + 1 runs per step.
 *
 * Internals trace: a backend created `traceable` also opens traced variants of its segment graphs
 * (the same graph plus each layer's softmax weights as outputs, decoder-graph.ts) and runs a step
 * that asks for a trace on them; untraced steps run the plain graphs, exactly as without tracing.
 * Choice: the rows come from the graph that computes the step's output (its Softmax node), so they
 * are the weights the served request used, for the price of a second set of sessions (host memory
 * of the weights and start-up time twice) while tracing is allowed.
 *
 * Off the event loop: created with `offThread`, each plain segment runs on its own thread
 * (thread-segment.ts), so HTTP, gRPC and the queue stay responsive during a long prefill; the
 * traced graphs (and profiling) stay on the main thread, reading the main-thread pool, which the
 * backend keeps an exact mirror of the thread's pool.
 *
 * Not the reference: the TypeScript backend (paged flash kernel) is, and tests hold this one
 * to it within 1e-4 on logits. Not a scheduler: one batch at a time, as the ModelRunner calls it.
 * Follows the StepBackend contract in ../runner/types.ts.
 */
import type * as ort from 'onnxruntime-node';
import { createOrtSession, ortTensor, outputF32, type OrtSession } from '@llm/tensor';
import { moeRequest, recordMoe } from '../runner/forward-trace';
import type { ForwardTrace, MoeRoutingRequest } from '../runner/trace-types';
import type { FlatBatch, ForwardExtras, KvPool, StepBackend } from '../runner/types';
import { recordAttentionProbs } from './attention-probs';
import { MAX_ROWS_PER_SEQ, splitBatch } from './batch-split';
import { decoderFromLoaded, type ModelSource } from './from-loaded';
import { buildSegmentGraph, planSegments, type SegmentPlan } from './decoder-graph';
import { validateDecoder, type GraphSpec, type GraphWeights, type QuantKernel } from './spec';
import { RopeTableCache, STEP, stepLayout, writeNewKv, type StepLayout } from './step-io';
import { ThreadSegment } from './thread-segment';

/** The MoE FFN of one layer, run outside the graph: hidden (T, C) normed -> (T, C) output (and, asked, the routing of some rows). */
export interface MoeLayerRunner {
  run(layer: number, hidden: Float32Array, numTokens: number, trace?: MoeRoutingRequest): Promise<Float32Array>;
}

export interface OrtBackendOptions {
  /** Intra-op threads of every session. */
  threads: number;
  /** Required when the model has MoE layers. */
  moeExecutor?: MoeLayerRunner;
  /** Most new tokens of one sequence per run (default MAX_ROWS_PER_SEQ); longer chunks run in pieces. */
  maxRowsPerSeq?: number;
  /** Kernel of quantized linear layers (default DEFAULT_QUANT_KERNEL); f32 layers always use Gemm. */
  quantKernel?: QuantKernel;
  /** Benchmarks only: profile every node to `<prefix>_<segment>_<time>.json` (see endProfiling). */
  profileFilePrefix?: string;
  /** Also open the traced graphs so steps can record an internals trace (twice the sessions). */
  traceable?: boolean;
  /** Run the plain segment graphs on worker threads (thread-segment.ts); ignored with profileFilePrefix. */
  offThread?: boolean;
}

type Feeds = Record<string, ort.Tensor>;
type RunOutputs = ort.InferenceSession.OnnxValueMapType;

/** Opens one session per segment (the traced variants when `traced`). */
async function openSegments(spec: GraphSpec, weights: GraphWeights, plans: SegmentPlan[], opts: OrtBackendOptions, traced: boolean): Promise<Segment[]> {
  const segments: Segment[] = [];
  for (const plan of plans) {
    // Build, open, then drop the bytes before the next segment (they are as large as the weights).
    const profileFilePrefix = opts.profileFilePrefix && !traced ? `${opts.profileFilePrefix}_${plan.index}` : undefined;
    const bytes = buildSegmentGraph(spec, weights, plan, { attentionProbs: traced });
    if (opts.offThread && !traced && !profileFilePrefix) segments.push({ plan, thread: await ThreadSegment.open(plan, bytes, opts.threads) });
    else segments.push({ plan, session: await createOrtSession(bytes, { threads: opts.threads, profileFilePrefix }) });
  }
  return segments;
}

/** A segment's graph: a main-thread session, or a session on its own thread holding the segment's pools. */
interface Segment {
  plan: SegmentPlan;
  session?: OrtSession;
  thread?: ThreadSegment;
}

export class OrtBackend implements StepBackend {
  readonly name = 'ort' as const;
  private readonly rope?: RopeTableCache;
  private readonly poolTensors = new WeakMap<Float32Array, ort.Tensor>();

  private constructor(
    readonly spec: GraphSpec,
    private readonly segments: Segment[],
    private readonly moe: MoeLayerRunner | undefined,
    private readonly maxRowsPerSeq: number,
    private readonly tracedSegments: Segment[] | undefined,
  ) {
    if (spec.ropeInvFreq) this.rope = new RopeTableCache(spec.ropeInvFreq);
  }

  /** The backend for a LoadedModel (or initRandomModel's { config, weights }). */
  static async create(model: ModelSource, opts: OrtBackendOptions): Promise<OrtBackend> {
    const { spec, weights } = decoderFromLoaded(model);
    return OrtBackend.fromDecoder(opts.quantKernel ? { ...spec, quantKernel: opts.quantKernel } : spec, weights, opts);
  }

  /** Builds and opens the segment sessions (one for a dense model). */
  static async fromDecoder(spec: GraphSpec, weights: GraphWeights, opts: OrtBackendOptions): Promise<OrtBackend> {
    validateDecoder(spec, weights);
    const plans = planSegments(spec);
    if (plans.length > 1 && !opts.moeExecutor) {
      throw new Error(`OrtBackend: the model has ${plans.length - 1} MoE layers; pass opts.moeExecutor to run their experts`);
    }
    const maxRows = opts.maxRowsPerSeq ?? MAX_ROWS_PER_SEQ;
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new Error(`OrtBackend: maxRowsPerSeq must be a positive integer, got ${maxRows}`);
    const segments = await openSegments(spec, weights, plans, opts, false);
    const traced = opts.traceable ? await openSegments(spec, weights, plans, opts, true) : undefined;
    return new OrtBackend(spec, segments, opts.moeExecutor, maxRows, traced);
  }

  /** Whether steps can record an internals trace (created with `traceable`). */
  get traceable(): boolean {
    return this.tracedSegments !== undefined;
  }

  /** Number of session runs per step (1 for a dense model). */
  get numSessions(): number {
    return this.segments.length;
  }

  /**
   * One step. Sequences whose new-token counts differ a lot (a long prefill chunk next to
   * decodes) run as separate sub-batches, so padding stays under 2x, and chunks longer than
   * maxRowsPerSeq run in pieces, one after the other (batch-split.ts).
   */
  async forward(batch: FlatBatch, pool: KvPool, extras?: ForwardExtras): Promise<Float32Array> {
    if (this.segments.length === 0) throw new Error('OrtBackend: forward() after dispose() (create a new backend)');
    this.checkPool(pool);
    const trace = extras?.trace;
    if (trace && !this.tracedSegments) throw new Error('OrtBackend: a traced step on a backend created without `traceable` (start the worker with --allow-trace)');
    const parts = splitBatch(batch, this.maxRowsPerSeq);
    if (parts.length === 1) {
      const got = await this.forwardDense(batch, pool, trace);
      if (extras) extras.hidden = got.hidden;
      return got.logits;
    }
    const V = this.spec.vocabSize;
    const C = this.spec.hiddenSize;
    const logits = new Float32Array(batch.logitRows.length * V);
    const hidden = new Float32Array(batch.logitRows.length * C);
    for (const part of parts) {
      const got = await this.forwardDense(part.batch, pool, trace);
      part.logitIndex.forEach((r, i) => {
        logits.set(got.logits.subarray(i * V, (i + 1) * V), r * V);
        hidden.set(got.hidden.subarray(i * C, (i + 1) * C), r * C);
      });
    }
    if (extras) extras.hidden = hidden;
    return logits;
  }

  /** One run per segment over a batch whose padded layout is dense enough. */
  private async forwardDense(batch: FlatBatch, pool: KvPool, trace?: ForwardTrace): Promise<{ logits: Float32Array; hidden: Float32Array }> {
    const layout = stepLayout(batch, pool.blockSize, this.spec.numHeads / this.spec.numKvHeads, this.spec.numKvHeads);
    const common = this.commonFeeds(layout);
    const R = batch.logitRows.length;
    const moeTrace = moeRequest(trace, batch);
    let resid: Float32Array | undefined;
    let delta: Float32Array | undefined;
    for (const { plan, session, thread } of trace ? (this.tracedSegments as Segment[]) : this.segments) {
      const feeds: Feeds = { ...(plan.layers.length > 0 ? common : {}) };
      if (!thread) {
        for (const l of plan.layers) {
          feeds[STEP.kPool(l)] = this.poolTensor(pool, pool.k[l]);
          feeds[STEP.vPool(l)] = this.poolTensor(pool, pool.v[l]);
        }
      }
      if (plan.first) this.tokenFeeds(feeds, batch);
      else {
        feeds[STEP.resid] = ortTensor(resid as Float32Array, [layout.numTokens, this.spec.hiddenSize]);
        feeds[STEP.delta] = ortTensor(delta as Float32Array, [layout.numTokens, this.spec.hiddenSize]);
      }
      // No requested rows (a prefill chunk that samples nothing): compute row 0, return nothing.
      if (plan.last) feeds[STEP.logitRows] = ortTensor(R > 0 ? batch.logitRows : Int32Array.of(0), [Math.max(R, 1)]);
      const out = thread ? ((await thread.run(feeds, pool, batch, layout)) as unknown as RunOutputs) : await (session as OrtSession).run(feeds);
      if (plan.layers.length > 0) {
        writeNewKv(pool, batch, layout, plan.layers, outputF32(out, STEP.kNew), outputF32(out, STEP.vNew));
      }
      if (trace) for (const l of plan.layers) recordAttentionProbs(trace, batch, layout, l, outputF32(out, STEP.attnProbs(l)), this.spec.numHeads, this.spec.numKvHeads);
      if (trace) for (const s of this.segments) s.thread?.invalidate(); // the traced graphs wrote the main-thread pool only
      if (plan.last) return R > 0 ? { logits: outputF32(out, STEP.logits), hidden: outputF32(out, STEP.hidden) } : { logits: new Float32Array(0), hidden: new Float32Array(0) };
      resid = outputF32(out, STEP.residOut);
      delta = await this.runMoe(plan, outputF32(out, STEP.normedOut), layout.numTokens, trace, moeTrace);
    }
    throw new Error('OrtBackend: the segment plan has no final segment');
  }

  /** With profileFilePrefix: writes each session's profile (`<prefix>_<segment>_<date>.json`). */
  endProfiling(): void {
    for (const s of this.segments) s.session?.endProfiling();
  }

  /** Rows of `slots` that another backend wrote into `pool`, copied to the threads' pools (a no-op on the main thread, which reads `pool` itself). */
  async writeKvRows(pool: KvPool, slots: Int32Array): Promise<void> {
    for (const s of this.segments) await s.thread?.writeRows(pool, slots);
  }

  /** Replays copy-on-write block copies, already applied to `pool`, on the threads' pools (a no-op on the main thread). */
  async applyBlockCopies(pool: KvPool, copies: ReadonlyArray<{ src: number; dst: number }>): Promise<void> {
    for (const s of this.segments) await s.thread?.applyBlockCopies(pool, copies);
  }

  /** Whether the plain segments run on worker threads. */
  get offThread(): boolean {
    return this.segments.some((s) => s.thread !== undefined);
  }

  async dispose(): Promise<void> {
    for (const s of [...this.segments, ...(this.tracedSegments ?? [])]) await (s.session ?? s.thread)?.release();
    this.segments.length = 0;
    this.tracedSegments?.splice(0);
  }

  private async runMoe(plan: SegmentPlan, normed: Float32Array, numTokens: number, trace?: ForwardTrace, moeTrace?: ReturnType<typeof moeRequest>): Promise<Float32Array> {
    const layer = plan.layers[plan.layers.length - 1];
    const asked = moeTrace ? { req: { rows: moeTrace.req.rows, out: [] }, owners: moeTrace.owners } : undefined;
    const out = await (this.moe as MoeLayerRunner).run(layer, normed, numTokens, asked?.req);
    if (asked) recordMoe(trace as ForwardTrace, layer, asked);
    if (out.length !== numTokens * this.spec.hiddenSize) {
      throw new Error(`OrtBackend: MoE layer ${layer} returned ${out.length} floats, expected ${numTokens}x${this.spec.hiddenSize}`);
    }
    return out;
  }

  private commonFeeds(layout: StepLayout): Feeds {
    const { numSeqs: S, maxNew: T, maxPast: P, numTokens: N } = layout;
    const G = this.spec.numHeads / this.spec.numKvHeads;
    const feeds: Feeds = {
      [STEP.padRows]: ortTensor(layout.padRows, [S, T]),
      [STEP.unpadRows]: ortTensor(layout.unpadRows, [N]),
      [STEP.pastRows]: ortTensor(layout.pastRows, [S, this.spec.numKvHeads, P]),
      [STEP.attnMask]: ortTensor(layout.attnMask, [S, 1, G * T, P + T]),
    };
    if (this.rope) {
      const numPositions = layout.maxPosition + 1;
      const { cos, sin } = this.rope.get(numPositions);
      const half = this.spec.headDim / 2;
      feeds[STEP.padPos] = ortTensor(layout.padPos, [S, T]);
      feeds[STEP.ropeCos] = ortTensor(cos, [numPositions, half]);
      feeds[STEP.ropeSin] = ortTensor(sin, [numPositions, half]);
    }
    return feeds;
  }

  private tokenFeeds(feeds: Feeds, batch: FlatBatch): void {
    const N = batch.tokenIds.length;
    const V = this.spec.vocabSize;
    for (let i = 0; i < N; i++) {
      const id = batch.tokenIds[i];
      if (!(id >= 0 && id < V)) throw new Error(`OrtBackend: tokenIds[${i}] = ${id} is outside the vocabulary [0, ${V})`);
    }
    feeds[STEP.tokenIds] = ortTensor(batch.tokenIds, [N]);
    if (this.spec.positions !== 'learned') return;
    for (let i = 0; i < N; i++) {
      const p = batch.positions[i];
      if (!(p >= 0 && p < this.spec.maxPositions)) {
        throw new Error(`OrtBackend: positions[${i}] = ${p} is outside the model's ${this.spec.maxPositions} learned positions`);
      }
    }
    feeds[STEP.positions] = ortTensor(batch.positions, [N]);
  }

  /** The pool array as an ORT tensor (slots * NKV, HS); ORT reads the array's memory, no copy. */
  private poolTensor(pool: KvPool, data: Float32Array): ort.Tensor {
    let t = this.poolTensors.get(data);
    if (!t) {
      t = ortTensor(data, [pool.numBlocks * pool.blockSize * pool.numKvHeads, pool.headDim]);
      this.poolTensors.set(data, t);
    }
    return t;
  }

  private checkPool(pool: KvPool): void {
    const s = this.spec;
    if (pool.numLayers !== s.numLayers || pool.numKvHeads !== s.numKvHeads || pool.headDim !== s.headDim) {
      throw new Error(
        `OrtBackend: KV pool is (L ${pool.numLayers}, NKV ${pool.numKvHeads}, HS ${pool.headDim}) ` +
          `but the model needs (L ${s.numLayers}, NKV ${s.numKvHeads}, HS ${s.headDim})`,
      );
    }
  }
}
