/*
 * Prints the benchmark's tables: tokens/s per step kind with ratios against llama.cpp's F32
 * numbers (measured externally, idle machine), the GEMM-only floor and the per-half-layer
 * variant (both measured in-run, round-robin); the TypeScript-backend comparison; and the
 * per-kernel breakdown of step time from ORT's profile.
 * Not a measurement: formatting only.
 */
import type { RunBreakdown } from './profile';

/**
 * llama.cpp with F32 weights, same shape, random weights, 2 threads, measured externally on this
 * machine class with nothing else running (tokens/s). Decode is the middle of the 37-40 range.
 */
export const LLAMA_CPP_F32: Record<string, number> = { 'prefill 128': 429, 'prefill 512': 549, 'decode batch 1': 38.5 };
/** ORT sgemm on 2 threads of this machine class when idle (GFLOP/s), for the load note. */
export const IDLE_SGEMM_GFLOPS = 240;

export interface BenchRow {
  name: string;
  tokens: number; // per step
  ms: number; // one-session backend
  floorMs: number; // GEMM-only floor
  splitMs: number; // per-half-layer sessions
}

export interface ProfileRow extends RunBreakdown {
  name: string;
  wallMs: number; // mean wall time of the profiled steps
}

export interface BenchReport {
  rows: BenchRow[];
  prof: ProfileRow[];
  ts: { tsPrefill: number; ortPrefill: number; tsDecode: number; ortDecode: number };
  copy: { smallMs: number; largeMs: number; largeMb: number };
  ffn: Array<{ rows: number; fusedMs: number; twoMs: number }>;
  pieces: { piecesMs: number; wholeMs: number };
  tsPrefillTokens: number;
  gflops: number;
  buildS: number;
  load: [number, number];
  threads: number;
}

const f = (x: number, d = 1) => x.toFixed(d);
const tps = (tokens: number, ms: number) => (tokens * 1000) / ms;

function stepTable(rows: BenchRow[]): void {
  console.log('\nstep               tok/s  ms/step  vs llama.cpp F32 (goal >= 0.8x)  step / GEMM floor  vs per-half-layer (2L+1 runs)');
  for (const r of rows) {
    const t = tps(r.tokens, r.ms);
    const ref = LLAMA_CPP_F32[r.name];
    const vsRef = ref ? `${f(t / ref, 2)}x of ${ref} tok/s` : '';
    console.log(
      `${r.name.padEnd(17)} ${f(t).padStart(6)} ${f(r.ms, 1).padStart(8)}  ${vsRef.padEnd(31)}  ` +
        `${f(r.ms / r.floorMs, 2)}x (${f(r.floorMs, 1)} ms)`.padEnd(19) +
        `${f(r.splitMs / r.ms, 2)}x faster (${f(r.splitMs, 1)} ms)`,
    );
  }
  const by = Object.fromEntries(rows.map((r) => [r.name, tps(r.tokens, r.ms)]));
  console.log(`\nbatch-32 aggregate / batch-1 decode: ${f(by['decode batch 32'] / by['decode batch 1'], 2)}x (goal >= 10x)`);
}

function profileTable(prof: ProfileRow[]): void {
  console.log('\nwhere step time goes (profiled session; % of the mean wall time of the profiled steps):');
  console.log('step               wall ms  weight GEMM  attn matmuls  other kernels  ORT overhead  JS + binding  outside matmuls');
  for (const p of prof) {
    const pct = (x: number) => `${f((100 * x) / p.wallMs)}%`.padStart(6);
    const js = Math.max(0, p.wallMs - p.runMs);
    console.log(
      `${p.name.padEnd(17)} ${f(p.wallMs, 1).padStart(8)}  ${pct(p.gemmMs)}       ${pct(p.attnMatmulMs)}        ${pct(p.otherKernelMs)}         ` +
        `${pct(p.overheadMs)}        ${pct(js)}        ${pct(p.wallMs - p.gemmMs - p.attnMatmulMs)}`,
    );
  }
}

export function report(r: BenchReport): void {
  console.log(`\nORT fast path, SmolLM-135M shape (576 x 30 layers, 9/3 heads, I 1536, V 49152, tied), f32, ${r.threads} threads`);
  console.log(`one-session graph build + session create: ${f(r.buildS)} s`);
  console.log(
    `machine: load average ${f(r.load[0], 2)} at start, ${f(r.load[1], 2)} at end (2 cores); in-run ORT sgemm 512x576x1536 ` +
      `${f(r.gflops)} GFLOP/s = ${f(r.gflops / IDLE_SGEMM_GFLOPS, 2)}x of the ${IDLE_SGEMM_GFLOPS} GFLOP/s of an idle machine`,
  );
  console.log(
    `graph input copy check: a run reading one row of a 1 MB input takes ${f(r.copy.smallMs, 3)} ms, of a ` +
      `${f(r.copy.largeMb, 0)} MB input ${f(r.copy.largeMs, 3)} ms (copying ${f(r.copy.largeMb, 0)} MB would take ~${f(r.copy.largeMb / 20, 0)} ms ` +
      'at 20 GB/s: the KV pool reaches ORT without a copy)',
  );
  stepTable(r.rows);
  const { tsPrefill, ortPrefill, tsDecode, ortDecode } = r.ts;
  const n = r.tsPrefillTokens;
  console.log(
    `TypeScript backend, same weights, side by side: prefill ${n} tokens ${f(tps(n, tsPrefill), 2)} tok/s vs ORT ` +
      `${f(tps(n, ortPrefill))} (${f(tsPrefill / ortPrefill)}x); decode batch 1 ${f(tps(1, tsDecode), 2)} tok/s vs ORT ` +
      `${f(tps(1, ortDecode))} (${f(tsDecode / ortDecode)}x)`,
  );
  profileTable(r.prof);
  const p = r.pieces;
  console.log(
    `\nprefill 512 as two 256-token pieces (default): ${f(p.piecesMs, 1)} ms vs one run ${f(p.wholeMs, 1)} ms (pieces/one run ${f(p.piecesMs / p.wholeMs, 2)}x)`,
  );
  console.log('FFN layout (30 SwiGLU layers, round-robin): fused gate|up Gemm + Split vs two Gemms');
  for (const x of r.ffn) {
    console.log(`  ${String(x.rows).padStart(4)} rows: fused ${f(x.fusedMs, 2)} ms, two Gemms ${f(x.twoMs, 2)} ms (${f(x.fusedMs / x.twoMs, 2)}x)`);
  }
}
