/*
 * `nx run attention-worker:bench`: the ORT fast path on a SmolLM-135M-shaped random model
 * (2 threads): prefill tokens/s at 128 and 512 tokens, decode tokens/s at batch 1, 8 and 32
 * (aggregate), the share of step time spent outside the matmuls (ORT's per-kernel profile),
 * ratios against llama.cpp numbers measured externally, and ratios against in-run baselines
 * measured round-robin with it (same load): the GEMM-only floor (the model's weight matmuls and
 * nothing else), one ORT session per half-layer (2L + 1 runs per step: the Mixtral-style
 * segmented path with dense FFN sessions as the "experts"), and the TypeScript backend on a few
 * tokens; plus the A/Bs behind two design choices: the FFN's two-Gemm layout (ffn-ab.ts) and
 * the prefill piece size (batch-split.ts: 512 tokens as two 256-token pieces vs one run). The load average and the in-run sgemm rate are printed: on a shared machine they
 * explain most of the spread against the idle-machine reference numbers.
 * Not a test: no assertions; goals are printed next to the measured ratios.
 */
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decoderFromLoaded, OrtBackend, OrtFfnExecutor, splitAtEveryLayer, TsBackend, tsDecoderFromModel } from '@llm/model';
import { OrtMatMul, timeOrtMatMul } from '@llm/tensor';
import { ffnLayoutAb } from './ffn-ab';
import { GemmFloor } from './gemm-floor';
import { decodeWorkload, nowMs, prefillWorkload, progress, roundRobinMs, roundRobinTimes, type Workload } from './measure';
import { meanBreakdown, runBreakdowns, takeProfiles, type RunBreakdown } from './profile';
import { report, type BenchRow, type ProfileRow } from './report';
import { benchPool, smolLmModel } from './workload';
import { inputCopyMs } from './zero-copy';

const THREADS = 2;
const DECODE_CONTEXT = 128; // cached tokens per sequence when decode starts
const TS_PREFILL = 8; // tokens of the TypeScript-backend prefill baseline

type Model = ReturnType<typeof smolLmModel>;

function workloads(model: Model, light = false): Array<[Workload, number]> {
  const V = model.config.vocabSize;
  const prefillPool = benchPool(model.config, 1, 512);
  const decodePool = benchPool(model.config, 32, DECODE_CONTEXT + 24);
  const d = (b: number) => decodeWorkload(b, DECODE_CONTEXT, V, decodePool, DECODE_CONTEXT + 24);
  const reps = (n: number) => (light ? Math.max(2, Math.ceil(n / 3)) : n);
  return [
    [prefillWorkload(128, V, prefillPool, 512), reps(4)],
    [prefillWorkload(512, V, prefillPool, 512), reps(2)],
    [d(1), reps(12)],
    [d(8), reps(8)],
    [d(32), reps(6)],
  ];
}

/** The one-session backend next to the GEMM floor and the per-half-layer variant, round-robin. */
async function sideBySide(model: Model): Promise<{ rows: BenchRow[]; buildS: number; backend: OrtBackend }> {
  progress('building the one-session graph');
  const t0 = nowMs();
  const backend = await OrtBackend.create(model, { threads: THREADS });
  const buildS = (nowMs() - t0) / 1000;
  progress('building the GEMM-only floor and the per-half-layer variant (2L + 1 sessions per step)');
  const floor = await GemmFloor.create(model.config, THREADS);
  const { spec, weights } = decoderFromLoaded(model);
  const ffn = await OrtFfnExecutor.create(spec, weights, { threads: THREADS });
  const split = await OrtBackend.fromDecoder(splitAtEveryLayer(spec), weights, { threads: THREADS, moeExecutor: ffn });
  const rows: BenchRow[] = [];
  for (const [w, reps] of workloads(model)) {
    progress(`${w.name}: one session | GEMM floor | per-half-layer, ${reps} rounds`);
    const [ms, floorMs, splitMs] = await roundRobinMs([backend, floor, split], w, reps);
    rows.push({ name: w.name, tokens: w.tokensPerStep, ms, floorMs, splitMs });
  }
  await Promise.all([floor.dispose(), split.dispose(), ffn.dispose()]);
  return { rows, buildS, backend };
}

/** Prefill 512 as two 256-token pieces (the default, MAX_ROWS_PER_SEQ) vs in one run, side by side. */
async function piecesAb(model: Model, backend: OrtBackend): Promise<{ piecesMs: number; wholeMs: number }> {
  progress('prefill 512: two 256-token pieces (default) vs one run');
  const whole = await OrtBackend.create(model, { threads: THREADS, maxRowsPerSeq: 512 });
  const w = prefillWorkload(512, model.config.vocabSize, benchPool(model.config, 1, 512), 512);
  const [piecesMs, wholeMs] = await roundRobinMs([backend, whole], w, 3);
  await whole.dispose();
  return { piecesMs, wholeMs };
}

/** TypeScript backend vs ORT on a short prefill and one decode step, side by side. */
async function tsVsOrt(model: Model, ort: OrtBackend) {
  const ts = new TsBackend(tsDecoderFromModel(model.config, model.weights));
  const V = model.config.vocabSize;
  progress(`TypeScript backend: prefill ${TS_PREFILL} tokens and one decode step (plain JS matmuls: slow)`);
  const [tsPrefill, ortPrefill] = await roundRobinMs([ts, ort], prefillWorkload(TS_PREFILL, V, benchPool(model.config, 1, 16), 16), 1);
  const pool = benchPool(model.config, 1, DECODE_CONTEXT + 8);
  const [tsDecode, ortDecode] = await roundRobinMs([ts, ort], decodeWorkload(1, DECODE_CONTEXT, V, pool, DECODE_CONTEXT + 8), 1);
  return { tsPrefill, ortPrefill, tsDecode, ortDecode };
}

/** Per-kernel breakdown from a profiled session; mean wall times of the same (profiled) steps. */
async function profiled(model: Model): Promise<ProfileRow[]> {
  const prefix = join(tmpdir(), `llm-ort-bench-${process.pid}`);
  const be = await OrtBackend.create(model, { threads: THREADS, profileFilePrefix: prefix });
  const picked = workloads(model, true).filter(([w]) => ['prefill 128', 'decode batch 1', 'decode batch 32'].includes(w.name));
  const walls: number[] = [];
  for (const [w, reps] of picked) {
    progress(`profiling ${w.name}`);
    const [times] = await roundRobinTimes([be], w, reps);
    walls.push(times.reduce((a, b) => a + b, 0) / times.length); // mean, like the profile's per-run means
  }
  be.endProfiling();
  await be.dispose();
  const runs = runBreakdowns(takeProfiles(`${prefix}_0`));
  const rows: ProfileRow[] = [];
  let seen = 0;
  picked.forEach(([w, reps], i) => {
    const b: RunBreakdown = meanBreakdown(runs.slice(seen + 1, seen + 1 + reps)); // skip the warm-up
    rows.push({ name: w.name, wallMs: walls[i], ...b });
    seen += 1 + reps;
  });
  return rows;
}

async function main(): Promise<void> {
  const t0 = nowMs();
  const loadStart = loadavg()[0];
  progress('generating random SmolLM-135M-shaped weights');
  const model = smolLmModel();
  progress(`weights ready in ${((nowMs() - t0) / 1000).toFixed(1)} s; measuring ORT sgemm`);
  const mm = await OrtMatMul.create({ threads: THREADS });
  const { gflops } = await timeOrtMatMul(mm, 512, 576, 1536, 7);
  await mm.dispose();
  const copy = await inputCopyMs(THREADS);
  progress('FFN layout A/B: fused gate|up + Split vs two Gemms');
  const ffn = await ffnLayoutAb(THREADS, [1, 32, 128], 12);
  const { rows, buildS, backend } = await sideBySide(model);
  const pieces = await piecesAb(model, backend);
  const ts = await tsVsOrt(model, backend);
  await backend.dispose();
  const prof = await profiled(model);
  report({ rows, prof, ts, copy, ffn, pieces, tsPrefillTokens: TS_PREFILL, gflops, buildS, load: [loadStart, loadavg()[0]], threads: THREADS });
  progress(`done in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
