/*
 * The kernel section of `llm bench`: the worker's step backend (OrtBackend, one ONNX Runtime
 * session per step) called directly, no scheduler or transport: prefill of one sequence (128,
 * 512, 2048 tokens) and decode at batch 1, 8, 32, 64 (context 128 cached per sequence), for each
 * weight format (F32, Q8_0, Q4_0). Each figure is tokens/s and the fraction of the memory roofline
 * ((weight bytes + KV bytes read per step) x steps/s / triad bandwidth).
 *
 * Beside each format's step, its linear layers alone (buildLinearOnlyGraph: the same weights through
 * the same matmul nodes, nothing else) at batch 1 and 32: how fast ONNX Runtime's matmuls read these
 * weights here, the ceiling a step that runs them can reach (columns `linear-only B`).
 *
 * And decode batch 1 as `llm serve` runs a single stream by default: the ORT backend with the
 * platform's own wasm kernels taking single-sequence decode steps (WasmDecodeBackend; column
 * `wasm 1`), on its own one-sequence pool.
 *
 * Also the A/B of the step's thread: the same F32 backend on the event loop's thread (the old
 * path) and on a worker thread, round-robin in the same rounds: prefill 512 and decode batch 1
 * rates, and the longest event-loop stall during a prefill 2048 (a 1 ms timer's largest gap).
 *
 * The bench's own overhead stays out: batches are built before the clock starts; each figure
 * starts after a second of untimed calls (timeRuns); the pool's contents are random numbers
 * written once (attention time does not depend on them).
 * Not a correctness test: the parity tests in libs/model are.
 */
import { approxParams, buildLinearOnlyGraph, decoderFromLoaded, OFF_THREAD_MIN_PARAMS, OrtBackend, quantizeModelWeights, WasmDecodeBackend, withWasmDecode, type FlatBatch, type KvPool, type StepBackend } from '@llm/model';
import { createOrtSession, ortTensor } from '@llm/tensor';
import { besideBandwidth } from './bandwidth';
import { benchPool, decodeBatch, kvBytesPerStep, prefillBatch, weightBytesPerStep, type BenchFormat, type BenchModel } from './workload';

export interface KernelPlan {
  formats: BenchFormat[];
  prefill: number[];
  decode: number[];
  rounds: number;
  threads: number;
  context: number;
}

export interface KernelRow {
  format: BenchFormat;
  /** wasm-portable: the wasm decoder with relaxed SIMD turned off (Q4_0 only: its portable kernel). */
  kind: 'prefill' | 'decode' | 'linear-only' | 'wasm' | 'wasm-portable';
  /** Prompt tokens (prefill) or sequences (decode, linear-only). */
  size: number;
  tokPerS: number;
  /** Bytes of weights and KV one step reads. */
  bytesPerStep: number;
  stepMs: number;
  /**
   * Decode batch 1 rows: the memory bandwidth (bytes/s) measured right before and right after this
   * row's rounds, the larger of the two: its roofline's denominator (see besideBandwidth).
   */
  bandwidth?: number;
}

export interface ThreadAb {
  prefill512: { main: number; thread: number };
  decode1: { main: number; thread: number };
  /** Largest event-loop gap (ms) during a prefill of `stallTokens`. */
  stallMs: { main: number; thread: number };
  stallTokens: number;
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Fills every layer's K and V with small pseudo-random values (what attention reads does not change its cost). */
function fillPool(pool: KvPool): void {
  for (const arr of [...pool.k, ...pool.v]) for (let i = 0; i < arr.length; i++) arr[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
}

/**
 * Untimed calls before each figure, for this long (one at least): the previous figure's garbage
 * collection and freed memory settle first (measured: the wasm decoder's Q8_0 row read 117 tok/s
 * right after the prefill rows and 139 with nothing before it), and the engines have compiled.
 */
const SETTLE_MS = 1000;

/** Median ms per call of `run(round)`, after SETTLE_MS of warm-up calls. */
async function timeRuns(run: (round: number) => Promise<unknown>, rounds: number): Promise<number> {
  const t = nowMs();
  do await run(-1);
  while (nowMs() - t < SETTLE_MS);
  const ts: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nowMs();
    await run(r);
    ts.push(nowMs() - t0);
  }
  return median(ts);
}

function weightsFor(m: BenchModel, f: BenchFormat): BenchModel['weights'] {
  return f === 'f32' ? m.weights : quantizeModelWeights(m.config, m.weights, { format: f });
}

/** The format's linear layers alone (see the file comment) at batch 1 and 32, on this thread. */
async function linearOnlyRows(m: BenchModel, f: BenchFormat, weights: BenchModel['weights'], plan: KernelPlan, progress: (s: string) => void): Promise<KernelRow[]> {
  const { spec, weights: gw } = decoderFromLoaded({ config: m.config, weights });
  progress(`${m.name} ${f}: the linear layers alone (ONNX Runtime's matmul ceiling)`);
  const session = await createOrtSession(buildLinearOnlyGraph(spec, gw), { threads: plan.threads });
  const rows: KernelRow[] = [];
  try {
    for (const B of [1, 32]) {
      const x = new Float32Array(B * spec.hiddenSize).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5); // (B, C)
      const feeds = { x: ortTensor(x, [B, spec.hiddenSize]) };
      const ms = await timeRuns(() => session.run(feeds), plan.rounds);
      rows.push({ format: f, kind: 'linear-only', size: B, tokPerS: (B * 1000) / ms, stepMs: ms, bytesPerStep: weightBytesPerStep(m.config, f) });
    }
  } finally {
    await session.release();
  }
  return rows;
}

/** Prefill and decode rows of one format. */
async function formatRows(m: BenchModel, f: BenchFormat, plan: KernelPlan, progress: (s: string) => void): Promise<KernelRow[]> {
  const c = m.config;
  progress(`${m.name} ${f}: building the decoder session`);
  const weights = weightsFor(m, f);
  const be = await OrtBackend.create({ config: c, weights }, { threads: plan.threads, offThread: servedOffThread(m) });
  const rows: KernelRow[] = [];
  try {
    const maxB = Math.max(1, ...plan.decode);
    const maxCtx = plan.context + 16 + 1;
    const dpool = benchPool(c, maxB, maxCtx);
    fillPool(dpool);
    for (const B of plan.decode) {
      const batches: FlatBatch[] = Array.from({ length: 16 }, (_, k) => decodeBatch(B, plan.context + k, c.vocabSize, maxCtx));
      progress(`${m.name} ${f}: decode batch ${B}, ${plan.rounds} rounds${B === 1 ? ' (and the memory bandwidth before and after)' : ''}`);
      const timed = () => timeRuns((r) => be.forward(batches[Math.max(r, 0) % 16], dpool), plan.rounds);
      const { result: ms, bandwidth } = B === 1 ? await besideBandwidth(plan.threads, timed) : { result: await timed(), bandwidth: undefined };
      rows.push({ format: f, kind: 'decode', size: B, tokPerS: (B * 1000) / ms, stepMs: ms, bytesPerStep: weightBytesPerStep(c, f) + kvBytesPerStep(c, B * (plan.context + 8)), bandwidth });
    }
    const maxP = Math.max(1, ...plan.prefill.filter((n) => n <= c.maxPositions));
    const ppool = benchPool(c, 1, maxP);
    for (const n of plan.prefill) {
      if (n > c.maxPositions) {
        progress(`${m.name}: prefill ${n} skipped (the model has ${c.maxPositions} positions)`);
        continue;
      }
      const batch = prefillBatch(n, c.vocabSize, maxP);
      const rounds = Math.max(2, Math.ceil((plan.rounds * 128) / n));
      progress(`${m.name} ${f}: prefill ${n}, ${rounds} rounds`);
      const ms = await timeRuns(() => be.forward(batch, ppool), rounds);
      rows.push({ format: f, kind: 'prefill', size: n, tokPerS: (n * 1000) / ms, stepMs: ms, bytesPerStep: weightBytesPerStep(c, f) }); // the prompt's own K/V never leaves the graph
    }
  } finally {
    await be.dispose();
  }
  if (plan.decode.includes(1)) {
    const w = await wasmDecodeRow(m, f, weights, plan, progress);
    if (w) rows.push(w);
    // the Q4_0 kernels' A/B: the int8 one (relaxed SIMD, what the row above ran where the engine has it) against the portable one
    const p = w && f === 'q4_0' ? await wasmDecodeRow(m, f, weights, plan, progress, false) : undefined;
    if (p) rows.push(p);
  }
  rows.push(...(await linearOnlyRows(m, f, weights, plan, progress)));
  return rows;
}

/**
 * Decode batch 1 through WasmDecodeBackend (see the file comment); undefined when the decoder does
 * not take the model. `relaxedSimd` false: the portable kernels only (row kind wasm-portable).
 */
async function wasmDecodeRow(m: BenchModel, f: BenchFormat, weights: BenchModel['weights'], plan: KernelPlan, progress: (s: string) => void, relaxedSimd = true): Promise<KernelRow | undefined> {
  const c = m.config;
  progress(`${m.name} ${f}: packing the weights for the wasm decoder${relaxedSimd ? '' : ' (portable kernels, relaxed SIMD off)'}`);
  const ort = await OrtBackend.create({ config: c, weights }, { threads: plan.threads, offThread: true });
  const be: StepBackend = await withWasmDecode({ config: c, weights }, ort, plan.threads, { relaxedSimd, adaptive: false }); // every step on the decoder: this row is its figure
  try {
    if (!(be instanceof WasmDecodeBackend)) {
      progress(`${m.name} ${f}: the wasm decoder does not take this model; column wasm 1 left out`);
      return undefined;
    }
    const maxCtx = plan.context + 16 + 1;
    const pool = benchPool(c, 1, maxCtx);
    fillPool(pool);
    const batches: FlatBatch[] = Array.from({ length: 16 }, (_, k) => decodeBatch(1, plan.context + k, c.vocabSize, maxCtx));
    progress(`${m.name} ${f}: decode batch 1 on the wasm decoder${f === 'q4_0' ? ` (Q4_0 kernel: ${be.q4Kernel})` : ''}, ${plan.rounds} rounds`);
    const { result: ms, bandwidth } = await besideBandwidth(plan.threads, () => timeRuns((r) => be.forward(batches[Math.max(r, 0) % 16], pool), plan.rounds));
    return { format: f, kind: relaxedSimd ? 'wasm' : 'wasm-portable', size: 1, tokPerS: 1000 / ms, stepMs: ms, bytesPerStep: weightBytesPerStep(c, f) + kvBytesPerStep(c, plan.context + 8), bandwidth };
  } finally {
    await be.dispose();
  }
}

/** Whether `llm serve` runs this model's steps on a worker thread (createModelRunner's default rule). */
export const servedOffThread = (m: BenchModel): boolean => approxParams(m.config) >= OFF_THREAD_MIN_PARAMS;

/** Every format's rows, one format at a time (one set of weights in memory at once). */
export async function kernelRows(m: BenchModel, plan: KernelPlan, progress: (s: string) => void): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  for (const f of plan.formats) rows.push(...(await formatRows(m, f, plan, progress)));
  return rows;
}

/** Largest gap between ticks of a 1 ms timer while `work` runs. */
export async function maxLoopStallMs(work: () => Promise<unknown>): Promise<number> {
  let last = nowMs();
  let gap = 0;
  const timer = setInterval(() => {
    const now = nowMs();
    gap = Math.max(gap, now - last);
    last = now;
  }, 1);
  last = nowMs();
  await work();
  gap = Math.max(gap, nowMs() - last);
  clearInterval(timer);
  return gap;
}

/** The old path (sessions on the event loop's thread) against worker threads, F32, same rounds. */
export async function threadAb(m: BenchModel, plan: KernelPlan, progress: (s: string) => void): Promise<ThreadAb> {
  const c = m.config;
  progress(`${m.name}: thread A/B: building the F32 session twice (event-loop thread, worker thread)`);
  const main = await OrtBackend.create(m, { threads: plan.threads });
  const thread = await OrtBackend.create(m, { threads: plan.threads, offThread: true });
  try {
    const stallTokens = Math.min(Math.max(...plan.prefill), c.maxPositions);
    const P = Math.max(512, stallTokens);
    const pool = benchPool(c, 1, P);
    const pools = [pool, benchPool(c, 1, P)];
    const p512 = prefillBatch(Math.min(512, c.maxPositions), c.vocabSize, P);
    const d1 = decodeBatch(1, 128, c.vocabSize, P);
    const backends = [main, thread];
    const times = { p: [[], []] as number[][], d: [[], []] as number[][] };
    for (let i = 0; i < 2; i++) await backends[i].forward(p512, pools[i]); // warm-up
    const rounds = Math.max(2, Math.ceil(plan.rounds / 4));
    progress(`${m.name}: thread A/B: prefill ${p512.tokenIds.length} and decode batch 1, ${rounds} rounds each way`);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < 2; i++) {
        let t0 = nowMs();
        await backends[i].forward(p512, pools[i]);
        times.p[i].push(nowMs() - t0);
        t0 = nowMs();
        for (let k = 0; k < 4; k++) await backends[i].forward(d1, pools[i]);
        times.d[i].push((nowMs() - t0) / 4);
      }
    }
    progress(`${m.name}: thread A/B: event-loop stall during a ${stallTokens}-token prefill`);
    const big = prefillBatch(stallTokens, c.vocabSize, P);
    const stall = [await maxLoopStallMs(() => main.forward(big, pools[0])), await maxLoopStallMs(() => thread.forward(big, pools[1]))];
    const rate = (n: number, ms: number[]) => (n * 1000) / median(ms);
    return {
      prefill512: { main: rate(p512.tokenIds.length, times.p[0]), thread: rate(p512.tokenIds.length, times.p[1]) },
      decode1: { main: rate(1, times.d[0]), thread: rate(1, times.d[1]) },
      stallMs: { main: stall[0], thread: stall[1] },
      stallTokens,
    };
  } finally {
    await main.dispose();
    await thread.dispose();
  }
}
