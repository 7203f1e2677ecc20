/*
 * WasmDecodeBackend: the ORT backend, with single-sequence single-token decode steps (what one
 * chat stream runs) taken by the WasmDecoder. Everything else (prefill chunks, batches of two or
 * more sequences, speculative verification, traced steps, pooled embeddings) runs on ORT.
 *
 * Keeping three copies of the pool in step (the KvPool, ORT's thread pools, the decoder's):
 * after a wasm step the new token's K/V rows are copied into the KvPool, and their slots noted
 * for ORT's threads, which get them in one message before they next run a step or copy blocks
 * (a stream of wasm steps sends nothing across); after an ORT step its new rows are copied into
 * the decoder; block copies are replayed in both. A wasm step that fails turns the decoder off
 * and reruns the step on ORT (one line on stderr), so a fault there costs speed, never a request.
 *
 * Which kernel takes a single-stream step is a KernelChoice (./kernel-choice.ts) fed with the
 * steps' own times: the decoder while it is the faster, ORT while a busy machine slows the
 * decoder's barriers more than ORT's step (one line on stderr at each change), with a probe of the
 * other kernel every so many steps. `adaptive: false` pins those steps to the decoder.
 */
import type { OrtBackend } from '../onnx/ort-backend';
import type { ForwardExtras, FlatBatch, KvPool, StepBackend } from '../runner/types';
import type { WasmDecoder } from './decoder';
import { KernelChoice, type KernelChoiceOptions, type KernelSwitch } from './kernel-choice';

export interface WasmDecodeBackendOptions {
  /** Choose each single-stream step's kernel by measured step times (default true). */
  adaptive?: boolean;
  /** The choice's probing and thresholds (tests shorten them). */
  choice?: KernelChoiceOptions;
  /** The clock steps are timed with, in ms (default performance.now; tests make load deterministic with their own). */
  now?: () => number;
}

export class WasmDecodeBackend implements StepBackend {
  readonly name = 'ort+wasm' as const;
  /** Steps the decoder ran (the rest ran on ORT). */
  wasmSteps = 0;
  /** Single-stream steps the choice gave to ORT (probes included). */
  ortSingleSteps = 0;
  /** The changes of kernel so far, oldest first. */
  readonly switches: KernelSwitch[] = [];
  private readonly choice: KernelChoice | undefined;
  private readonly now: () => number;
  private decoder: WasmDecoder | undefined;
  /** Slots the decoder wrote that ORT's threads have not been sent yet (the rows are in the KvPool). */
  private unsent: number[] = [];

  constructor(
    private readonly inner: OrtBackend,
    decoder: WasmDecoder,
    private readonly embed: Float32Array,
    opts: WasmDecodeBackendOptions = {},
  ) {
    this.decoder = decoder;
    this.choice = opts.adaptive === false ? undefined : new KernelChoice(opts.choice);
    this.now = opts.now ?? (() => performance.now());
  }

  /** The kernel that takes single-stream steps now (apart from probes). */
  get singleStreamKernel(): 'wasm' | 'ort' {
    return this.decoder ? (this.choice?.current ?? 'wasm') : 'ort';
  }

  get traceable(): boolean {
    return this.inner.traceable;
  }

  /** The decoder's Q4_0 kernel and why (WasmDecoder.q4Kernel). */
  get q4Kernel(): string {
    return this.decoder?.q4Kernel ?? 'none (the decoder is off)';
  }

  /** Whether single-token steps still run on the decoder (false after it failed). */
  get decoderOn(): boolean {
    return this.decoder !== undefined;
  }

  async forward(batch: FlatBatch, pool: KvPool, extras?: ForwardExtras): Promise<Float32Array> {
    const d = this.decoder;
    const single = d !== undefined && !extras && batch.seqs.length === 1 && batch.seqs[0].numNewTokens === 1 && batch.logitRows.length === 1;
    const kernel = single ? (this.choice?.next() ?? 'wasm') : 'ort';
    if (single && kernel === 'wasm') {
      try {
        const t0 = this.now();
        const logits = await this.decodeStep(d, batch, pool);
        this.timed('wasm', this.now() - t0);
        return logits;
      } catch (e) {
        await this.turnOff(e as Error);
      }
    }
    await this.sendRows(pool);
    const t0 = this.now();
    const logits = await this.inner.forward(batch, pool, extras);
    if (single && this.decoder) {
      this.ortSingleSteps++;
      this.timed('ort', this.now() - t0);
    }
    if (d && this.decoder && d.isBound(pool)) d.writeRows(pool, batch.slotMapping);
    return logits;
  }

  /** Feeds a single-stream step's time to the choice; a change of kernel gets one line on stderr. */
  private timed(kernel: 'wasm' | 'ort', ms: number): void {
    const change = this.choice?.record(kernel, ms);
    if (!change) return;
    this.switches.push(change);
    const name = (k: string) => (k === 'wasm' ? 'the wasm decoder' : 'ONNX Runtime');
    process.stderr.write(`single-stream decode steps move to ${name(change.to)}: ${change.toMs.toFixed(1)} ms a step there, ${change.fromMs.toFixed(1)} ms on ${name(change.from)} (recent medians)\n`);
  }

  private async decodeStep(d: WasmDecoder, batch: FlatBatch, pool: KvPool): Promise<Float32Array> {
    if (!d.isBound(pool)) d.bind(pool);
    const seq = batch.seqs[0];
    const row = seq.start;
    const C = d.plan.hidden;
    const token = batch.tokenIds[row];
    const slot = batch.slotMapping[row];
    const logits = await d.step(this.embed.subarray(token * C, (token + 1) * C), batch.positions[row], slot, seq.blockTable);
    const D = pool.numKvHeads * pool.headDim;
    for (let l = 0; l < pool.numLayers; l++) {
      pool.k[l].set(d.poolView(l, 0).subarray(slot * D, (slot + 1) * D), slot * D);
      pool.v[l].set(d.poolView(l, 1).subarray(slot * D, (slot + 1) * D), slot * D);
    }
    this.unsent.push(slot);
    this.wasmSteps++;
    return logits;
  }

  /** ORT's threads get the rows the decoder wrote since they last ran (read from the KvPool now). */
  private async sendRows(pool: KvPool): Promise<void> {
    if (this.unsent.length === 0) return;
    const slots = Int32Array.from(new Set(this.unsent));
    this.unsent = [];
    await this.inner.writeKvRows(pool, slots);
  }

  /**
   * Uploads `pool` to the decoder now (createModelRunner calls it at load), so the first decode
   * step does not pay for copying the whole pool (half a second for 0.5 GiB). A pool the decoder
   * cannot hold turns it off (one line on stderr).
   */
  async bindPool(pool: KvPool): Promise<void> {
    try {
      this.decoder?.bind(pool);
    } catch (e) {
      await this.turnOff(e as Error);
    }
  }

  /** Every step from now on runs on ORT: one line on stderr, the decoder's threads closed. */
  private async turnOff(why: Error): Promise<void> {
    const d = this.decoder;
    this.decoder = undefined;
    process.stderr.write(`wasm decode off, every step runs on ONNX Runtime: ${why.message}\n`);
    await d?.close().catch(() => undefined);
  }

  /** Whether `pool` is resident in the decoder. */
  holdsPool(pool: KvPool): boolean {
    return this.decoder?.isBound(pool) ?? false;
  }

  async applyBlockCopies(pool: KvPool, copies: ReadonlyArray<{ src: number; dst: number }>): Promise<void> {
    if (copies.length > 0) await this.sendRows(pool); // a copied block may hold rows the threads have not seen
    await this.inner.applyBlockCopies(pool, copies);
    if (this.decoder?.isBound(pool)) this.decoder.copyBlocks(pool, copies);
  }

  async dispose(): Promise<void> {
    await this.decoder?.close();
    this.decoder = undefined;
    await this.inner.dispose();
  }
}
