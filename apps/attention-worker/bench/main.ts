/*
 * `nx run attention-worker:bench`: the ORT fast path on a SmolLM-135M-shaped random model
 * (2 threads): prefill tokens/s at 128 and 512 tokens, decode tokens/s at batch 1, 8 and 32
 * (aggregate), the share of step time spent outside the matmuls (from ORT's per-kernel
 * profile), ratios against llama.cpp reference numbers measured externally, and ratios against
 * an in-run baseline: the same weights run as one ORT session per half-layer (2L + 1 runs per
 * step, the Mixtral-style segmented path with dense FFN sessions as the "experts").
 * Not a test: no assertions; goals are printed next to the measured ratios.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decoderFromLoaded, OrtBackend, OrtFfnExecutor, splitAtEveryLayer, type KvPool } from '@llm/model';
import { OrtMatMul, timeOrtMatMul } from '@llm/tensor';
import { decodeMs, nowMs, prefillMs, progress } from './measure';
import { meanBreakdown, runBreakdowns, takeProfiles, type RunBreakdown } from './profile';
import { benchPool, smolLmModel } from './workload';

const THREADS = 2;
/**
 * llama.cpp with F32 weights, same shape, random weights, 2 threads, measured externally on this
 * machine class with nothing else running (tokens/s). Decode is the middle of the 37-40 range.
 */
const LLAMA_CPP_F32 = { prefill128: 429, prefill512: 549, decode1: 38.5 };
const DECODE_CONTEXT = 128; // cached tokens per sequence when decode starts
const DECODE_STEPS = { 1: 16, 8: 8, 32: 6 } as const;
const BATCHES = [1, 8, 32] as const;

interface Results {
  prefill: Record<number, number>; // n -> ms per step
  decode: Record<number, number>; // batch -> ms per step
}

async function measure(be: OrtBackend, prefillPool: KvPool, decodePool: KvPool, vocab: number, light: boolean): Promise<Results> {
  const prefill: Record<number, number> = {};
  const decode: Record<number, number> = {};
  for (const n of [128, 512]) {
    progress(`${be.numSessions} session(s)/step: prefill ${n}`);
    prefill[n] = await prefillMs(be, prefillPool, n, vocab, 512, light ? 1 : n === 128 ? 4 : 2);
  }
  for (const b of BATCHES) {
    progress(`${be.numSessions} session(s)/step: decode batch ${b}`);
    const steps = light ? Math.max(3, DECODE_STEPS[b] / 2) : DECODE_STEPS[b];
    decode[b] = await decodeMs(be, decodePool, b, DECODE_CONTEXT, steps, vocab, DECODE_CONTEXT + 24);
  }
  return { prefill, decode };
}

/** Per-kernel breakdown of prefill 128, decode b1 and decode b32 from a profiled session. */
async function profiledBreakdowns(model: ReturnType<typeof smolLmModel>, prefillPool: KvPool, decodePool: KvPool) {
  const prefix = join(tmpdir(), `llm-ort-bench-${process.pid}`);
  const be = await OrtBackend.create(model, { threads: THREADS, profileFilePrefix: prefix });
  const V = model.config.vocabSize;
  const ctx = DECODE_CONTEXT + 24;
  // [name, runs made (warm-ups first), warm-ups to skip, the measurement]
  const kinds: Array<[string, number, number, () => Promise<number>]> = [
    ['prefill 128', 3, 1, () => prefillMs(be, prefillPool, 128, V, 512, 2)],
    ['decode b1', 6, 2, () => decodeMs(be, decodePool, 1, DECODE_CONTEXT, 4, V, ctx)],
    ['decode b32', 5, 2, () => decodeMs(be, decodePool, 32, DECODE_CONTEXT, 3, V, ctx)],
  ];
  for (const [name, , , run] of kinds) {
    progress(`profiling ${name}`);
    await run();
  }
  be.endProfiling();
  await be.dispose();
  const runs = runBreakdowns(takeProfiles(`${prefix}_0`));
  const out: Record<string, RunBreakdown> = {};
  let seen = 0;
  for (const [name, count, warmups] of kinds) {
    out[name] = meanBreakdown(runs.slice(seen + warmups, seen + count));
    seen += count;
  }
  return out;
}

const fmt = (x: number, d = 1) => x.toFixed(d);

function report(main: Results, base: Results, prof: Record<string, RunBreakdown>, gflops: number, buildS: number): void {
  const tps = (n: number, ms: number) => (n * 1000) / ms;
  const p128 = tps(128, main.prefill[128]);
  const p512 = tps(512, main.prefill[512]);
  const d = Object.fromEntries(BATCHES.map((b) => [b, tps(b, main.decode[b])])) as Record<number, number>;
  console.log(`\nORT fast path, SmolLM-135M shape (576 x 30 layers, 9/3 heads, I 1536, V 49152, tied), f32, ${THREADS} threads`);
  console.log(`model graph build + session create: ${fmt(buildS)} s; in-run ORT sgemm 512x576x1536: ${fmt(gflops)} GFLOP/s`);
  console.log('\nstep                 tok/s   ms/step   vs llama.cpp F32 (goal)   vs per-half-layer sessions (in-run)');
  const line = (name: string, t: number, ms: number, ref: number | null, goal: string, baseMs: number) =>
    console.log(
      `${name.padEnd(20)} ${fmt(t).padStart(6)}  ${fmt(ms, 2).padStart(8)}   ${ref ? `${fmt(t / ref, 2)}x of ${ref} (${goal})`.padEnd(26) : ''.padEnd(26)}${fmt(baseMs / ms, 2)}x (${fmt(baseMs, 1)} -> ${fmt(ms, 1)} ms)`,
    );
  line('prefill 128', p128, main.prefill[128], LLAMA_CPP_F32.prefill128, '>= 0.8x', base.prefill[128]);
  line('prefill 512', p512, main.prefill[512], LLAMA_CPP_F32.prefill512, '>= 0.8x', base.prefill[512]);
  for (const b of BATCHES) {
    line(`decode batch ${b}`, d[b], main.decode[b], b === 1 ? LLAMA_CPP_F32.decode1 : null, '>= 0.8x', base.decode[b]);
  }
  console.log(`\nbatch-32 aggregate / batch-1 decode: ${fmt(d[32] / d[1], 2)}x (goal >= 10x)`);
  console.log('\nshare of step time outside the matmuls (ORT per-kernel profile; step = unprofiled wall time):');
  console.log('step          wall ms   weight GEMM   attn MatMul   other kernels   ORT overhead   JS + binding   outside matmuls');
  const wall: Record<string, number> = { 'prefill 128': main.prefill[128], 'decode b1': main.decode[1], 'decode b32': main.decode[32] };
  for (const [name, b] of Object.entries(prof)) {
    const w = wall[name];
    const pct = (x: number) => `${fmt((100 * x) / w)}%`.padStart(6);
    const outside = 1 - (b.gemmMs + b.attnMatmulMs) / w;
    console.log(
      `${name.padEnd(12)} ${fmt(w, 2).padStart(8)}   ${pct(b.gemmMs)}        ${pct(b.attnMatmulMs)}        ${pct(b.otherKernelMs)}          ${pct(b.overheadMs)}         ${pct(Math.max(0, w - b.runMs))}         ${fmt(100 * outside)}%`,
    );
  }
}

async function main(): Promise<void> {
  const t0 = nowMs();
  progress('generating random SmolLM-135M-shaped weights');
  const model = smolLmModel();
  const { config } = model;
  const V = config.vocabSize;
  const prefillPool = benchPool(config, 1, 512);
  const decodePool = benchPool(config, 32, DECODE_CONTEXT + 24);
  progress(`weights ready in ${fmt((nowMs() - t0) / 1000)} s; measuring ORT sgemm`);
  const mm = await OrtMatMul.create({ threads: THREADS });
  const { gflops } = await timeOrtMatMul(mm, 512, 576, 1536, 5);
  await mm.dispose();

  progress('building the one-session graph');
  const tb = nowMs();
  const be = await OrtBackend.create(model, { threads: THREADS });
  const buildS = (nowMs() - tb) / 1000;
  const main = await measure(be, prefillPool, decodePool, V, false);
  await be.dispose();

  const prof = await profiledBreakdowns(model, prefillPool, decodePool);

  progress('building the per-half-layer baseline (2L + 1 sessions per step)');
  const { spec, weights } = decoderFromLoaded(model);
  const ffn = await OrtFfnExecutor.create(spec, weights, { threads: THREADS });
  const split = await OrtBackend.fromDecoder(splitAtEveryLayer(spec), weights, { threads: THREADS, moeExecutor: ffn });
  const base = await measure(split, prefillPool, decodePool, V, true);
  await split.dispose();
  await ffn.dispose();

  report(main, base, prof, gflops, buildS);
  progress(`done in ${fmt((nowMs() - t0) / 1000)} s`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
