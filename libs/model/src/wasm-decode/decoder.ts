/*
 * WasmDecoder: one token of one sequence through the whole model on the platform's own SIMD
 * kernels (libs/tensor/src/wasm), on `threads` worker threads that share one WebAssembly memory
 * holding the repacked weights, a resident copy of the K/V pool and the step's scratch.
 *
 * Why it exists: a single-stream decode step reads every weight once and does little else, so
 * its speed is the memory bandwidth it reaches. Reading each matrix as one stream (weights packed
 * four rows at a time) lets two threads get close to the machine's bandwidth, where ONNX
 * Runtime's matmuls over the same weights reach less (see `llm bench`, columns `wasm 1` and
 * `linear-only 1`).
 *
 * The pool: the caller's KvPool stays the authority. `bind` uploads it, `writeRows` and
 * `copyBlocks` replay what other steps wrote into it, and after each step the caller copies the
 * new token's K/V rows out of `poolView` (WasmDecodeBackend does all of this).
 *
 * Not a scheduler: one step at a time, in call order. Memory: the weights exist a second time
 * here (packed), and the pool a second (or third) time.
 */
import { Worker } from 'node:worker_threads';
import { KERNELS_WASM_BASE64, relaxedKernels } from '@llm/tensor';
import type { GraphSpec, GraphWeights } from '../onnx/spec';
import { createKvPool } from '../runner/kv-pool';
import type { KvPool } from '../runner/types';
import { MAX_WASM_BYTES, PRODUCTS_PER_LAYER, packWeights, planDecoderMemory, type DecoderPlan } from './plan';
import { DECODE_WORKER_SOURCE } from './worker-source';

const GO = 0, DONE = 1, POS = 3, CTX = 4, SLOT = 5, BLOCK = 6, SLOTS = 7, TABLE = 8;
const PAGE = 65536;
/** A step that has not finished after this long means stuck threads: the decoder fails (its backend goes on on ONNX Runtime). */
const STEP_TIMEOUT_MS = 60_000;
/** Steps the decoder runs on itself at creation (see warmUp). */
const WARM_UP_STEPS = 48;

/** The slice of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer; grow(pages: number): number };
  Module: new (bytes: Uint8Array) => object;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
/** Atomics.waitAsync (Node 16+), which the project's ES2022 lib does not declare. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, timeoutMs?: number): { async: boolean; value: Promise<string> | string } }).waitAsync;
type WasmMemory = InstanceType<WasmApi['Memory']>;

export class WasmDecoder {
  private gen = 0;
  private failure: Error | undefined;
  private bound: KvPool | undefined;
  private slotsPerLayer = 0;

  private constructor(
    readonly plan: DecoderPlan,
    /** Which Q4_0 kernel the threads run and why: the int8 one on relaxed SIMD, or the portable one. */
    readonly q4Kernel: string,
    private readonly mem: WasmMemory,
    private readonly workers: Worker[],
  ) {
    for (const w of workers) {
      w.unref();
      w.on('message', (m: { error?: string }) => m.error && this.fail(new Error(`wasm decode thread failed: ${m.error}`)));
      w.on('error', (e) => this.fail(new Error(`wasm decode thread failed: ${e.message}`)));
      w.on('exit', (code) => this.fail(new Error(`wasm decode thread exited (code ${code})`)));
    }
  }

  /**
   * Packs the weights into a new shared memory and starts the threads. Q4_0 matrices run on the
   * int8 kernel where the engine has relaxed SIMD and it passes its check (libs/tensor's
   * relaxedKernels; the same floats as the portable kernel), unless `relaxedSimd` is false.
   */
  static async create(spec: GraphSpec, weights: GraphWeights, threads: number, opts: { relaxedSimd?: boolean } = {}): Promise<WasmDecoder> {
    const hasQ4 = [...weights.layers.flatMap((l) => [l.q, l.k, l.v, l.o, l.mlp?.gate, l.mlp?.up, l.mlp?.down]), { quant: weights.lmHeadQuant }].some((lin) => lin?.quant?.format === 'q4_0');
    const relaxed = hasQ4 && opts.relaxedSimd !== false ? relaxedKernels() : undefined;
    const q4Kernel = !hasQ4 ? 'no Q4_0 matrices' : relaxed?.module ? `int8 (${relaxed.status})` : `portable (${relaxed?.status ?? 'relaxed SIMD turned off'})`;
    const plan = planDecoderMemory(spec, weights, threads, relaxed?.module !== undefined);
    if (plan.end > MAX_WASM_BYTES) throw new Error(`the packed weights need ${(plan.end / 2 ** 30).toFixed(2)} GiB, past the ${MAX_WASM_BYTES / 2 ** 30} GiB a wasm memory holds`);
    const mem = new Wasm.Memory({ initial: Math.ceil(plan.end / PAGE), maximum: 65536, shared: true });
    packWeights(mem.buffer, plan, weights);
    const module = new Wasm.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    const workers: Worker[] = [];
    const ready: Array<Promise<void>> = [];
    for (let t = 0; t < threads; t++) {
      const w = new Worker(DECODE_WORKER_SOURCE, { eval: true, workerData: { plan, mem, module, relaxed: relaxed?.module, t } });
      workers.push(w);
      ready.push(new Promise((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      }));
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    const decoder = new WasmDecoder(plan, q4Kernel, mem, workers);
    await decoder.warmUp(spec);
    return decoder;
  }

  /**
   * Runs WARM_UP_STEPS steps over a scratch one-block pool, so the engine has compiled the kernels
   * and the step code with its optimising tier before the first real step (a cold decoder runs its
   * first tokens at a fraction of its speed).
   */
  private async warmUp(spec: GraphSpec): Promise<void> {
    const n = Math.min(WARM_UP_STEPS, spec.maxPositions);
    const scratch = createKvPool({ numBlocks: 1, blockSize: n, numLayers: spec.numLayers, numKvHeads: spec.numKvHeads, headDim: spec.headDim });
    this.bind(scratch);
    const x = new Float32Array(spec.hiddenSize).fill(0.01);
    for (let p = 0; p < n; p++) await this.step(x, p, p, Int32Array.of(0));
    this.bound = undefined;
  }

  /** Resolves once fail() has run, or after a second. */
  private failureReported(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1000);
      this.onFailure = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private onFailure: (() => void) | undefined;

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.onFailure?.();
    const ctl = this.ctl();
    Atomics.store(ctl, DONE, -Math.max(1, this.gen));
    Atomics.notify(ctl, DONE);
  }

  private ctl(): Int32Array {
    return new Int32Array(this.mem.buffer, this.plan.ctl, TABLE + this.plan.maxBlocks);
  }

  private layerFloats(): number {
    return this.slotsPerLayer * this.plan.numKvHeads * this.plan.headDim;
  }

  /** Layer l's K (kind 0) or V (1) in the resident pool, [slot][NKV][HS] like the KvPool's. */
  poolView(l: number, kind: 0 | 1): Float32Array {
    const n = this.layerFloats();
    return new Float32Array(this.mem.buffer, this.plan.end + (2 * l + kind) * n * 4, n);
  }

  /** Whether `pool` is the one resident here. */
  isBound(pool: KvPool): boolean {
    return this.bound === pool;
  }

  /** Uploads `pool` whole (growing the memory for it); the next steps read and write this copy. */
  bind(pool: KvPool): void {
    const slots = pool.numBlocks * pool.blockSize;
    const bytes = this.plan.end + 2 * pool.numLayers * slots * pool.numKvHeads * pool.headDim * 4;
    if (bytes > MAX_WASM_BYTES) throw new Error(`the KV pool would take the wasm memory to ${(bytes / 2 ** 30).toFixed(2)} GiB, past ${MAX_WASM_BYTES / 2 ** 30} GiB`);
    const have = this.mem.buffer.byteLength;
    if (bytes > have) this.mem.grow(Math.ceil((bytes - have) / PAGE));
    this.slotsPerLayer = slots;
    for (let l = 0; l < pool.numLayers; l++) {
      this.poolView(l, 0).set(pool.k[l]);
      this.poolView(l, 1).set(pool.v[l]);
    }
    const ctl = this.ctl();
    ctl[BLOCK] = pool.blockSize;
    ctl[SLOTS] = slots;
    this.bound = pool;
  }

  /** Copies `slots`' rows of every layer from `pool` (the bound one) into the resident pool. */
  writeRows(pool: KvPool, slots: ArrayLike<number>): void {
    const D = pool.numKvHeads * pool.headDim;
    for (let l = 0; l < pool.numLayers; l++) {
      const k = this.poolView(l, 0), v = this.poolView(l, 1);
      for (let i = 0; i < slots.length; i++) {
        const o = slots[i] * D;
        k.set(pool.k[l].subarray(o, o + D), o);
        v.set(pool.v[l].subarray(o, o + D), o);
      }
    }
  }

  /** Replays copy-on-write block copies in the resident pool. */
  copyBlocks(pool: KvPool, copies: ReadonlyArray<{ src: number; dst: number }>): void {
    const n = pool.blockSize * pool.numKvHeads * pool.headDim;
    for (let l = 0; l < pool.numLayers; l++) {
      for (const kind of [0, 1] as const) {
        const a = this.poolView(l, kind);
        for (const c of copies) a.copyWithin(c.dst * n, c.src * n, (c.src + 1) * n);
      }
    }
  }

  /**
   * One decode step: `embedding` is the new token's row, at position `pos`, written at `slot`,
   * attending over positions 0..pos by `blockTable`. Returns the logits (V).
   */
  async step(embedding: Float32Array, pos: number, slot: number, blockTable: Int32Array): Promise<Float32Array> {
    if (this.failure) throw this.failure;
    if (!this.bound) throw new Error('WasmDecoder.step: no KV pool bound');
    const ctx = pos + 1;
    if (ctx > this.plan.maxContext) throw new Error(`WasmDecoder.step: position ${pos} is past the model's ${this.plan.maxContext} positions`);
    const buf = this.mem.buffer;
    new Float32Array(buf, this.plan.scratch.x, this.plan.hidden).set(embedding);
    const ctl = this.ctl();
    ctl[POS] = pos;
    ctl[CTX] = ctx;
    ctl[SLOT] = slot;
    ctl.set(blockTable.subarray(0, Math.ceil(ctx / ctl[BLOCK])), TABLE);
    new Int32Array(buf, this.plan.scratch.work, PRODUCTS_PER_LAYER * this.plan.layers.length + 1).fill(0); // the products' chunk counters
    const gen = ++this.gen;
    Atomics.store(ctl, GO, gen);
    Atomics.notify(ctl, GO);
    const wait = waitAsync(ctl, DONE, gen - 1, STEP_TIMEOUT_MS);
    if (wait.async && (await wait.value) === 'timed-out' && Atomics.load(ctl, DONE) === gen - 1) {
      this.fail(new Error(`a decode step took over ${STEP_TIMEOUT_MS / 1000} s (the threads are stuck)`));
    }
    if (!this.failure && Atomics.load(ctl, DONE) !== gen) await this.failureReported(); // a thread's error message follows its flag
    if (this.failure) throw this.failure;
    if (Atomics.load(ctl, DONE) !== gen) throw new Error(`WasmDecoder.step: the threads answered ${Atomics.load(ctl, DONE)} for step ${gen}`);
    return new Float32Array(buf, this.plan.scratch.logits, this.plan.vocab).slice();
  }

  async close(): Promise<void> {
    const ctl = this.ctl();
    this.failure ??= new Error('WasmDecoder closed');
    Atomics.store(ctl, GO, -1);
    Atomics.notify(ctl, GO);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
