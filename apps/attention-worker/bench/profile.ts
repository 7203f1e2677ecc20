/*
 * Reads ONNX Runtime's profile (chrome-trace JSON: one "Session"/"model_run" event per run and
 * one "Node" event per kernel with args.op_name) and splits each run's time into weight GEMMs
 * (Gemm), attention matmuls (MatMul: Q K^T and P V), other kernels, and ORT's own overhead.
 * Not a general trace viewer: only these buckets.
 * Format per onnxruntime/core/common/profiler.cc.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

interface TraceEvent {
  cat: string;
  name: string;
  ts: number; // us
  dur: number; // us
  args?: { op_name?: string };
}

export interface RunBreakdown {
  runMs: number; // model_run duration
  gemmMs: number; // weight matmuls
  attnMatmulMs: number; // in-graph attention matmuls
  otherKernelMs: number;
  overheadMs: number; // run time not inside any kernel
}

/** Profile files written for `prefix` (ORT appends _<date>.json); returned and deleted by `take`. */
export function takeProfiles(prefix: string): TraceEvent[][] {
  const dir = dirname(prefix);
  const files = readdirSync(dir).filter((f) => f.startsWith(basename(prefix)) && f.endsWith('.json'));
  return files.map((f) => {
    const path = join(dir, f);
    const events = JSON.parse(readFileSync(path, 'utf8')) as TraceEvent[];
    rmSync(path);
    return events;
  });
}

/** One breakdown per model_run, in time order, from all files' events. */
export function runBreakdowns(traces: TraceEvent[][]): RunBreakdown[] {
  const out: RunBreakdown[] = [];
  for (const events of traces) {
    const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
    const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
    for (const run of runs) {
      const inRun = kernels.filter((k) => k.ts >= run.ts && k.ts <= run.ts + run.dur);
      const sum = (pred: (op: string) => boolean) =>
        inRun.filter((k) => pred(k.args?.op_name ?? '')).reduce((a, k) => a + k.dur, 0) / 1000;
      const gemmMs = sum((op) => op === 'Gemm');
      const attnMatmulMs = sum((op) => op === 'MatMul');
      const allMs = sum(() => true);
      out.push({
        runMs: run.dur / 1000,
        gemmMs,
        attnMatmulMs,
        otherKernelMs: allMs - gemmMs - attnMatmulMs,
        overheadMs: run.dur / 1000 - allMs,
      });
    }
  }
  return out;
}

/** Element-wise mean of breakdowns (runs of the same step kind). */
export function meanBreakdown(xs: RunBreakdown[]): RunBreakdown {
  const mean = (f: (b: RunBreakdown) => number) => xs.reduce((a, b) => a + f(b), 0) / xs.length;
  return {
    runMs: mean((b) => b.runMs),
    gemmMs: mean((b) => b.gemmMs),
    attnMatmulMs: mean((b) => b.attnMatmulMs),
    otherKernelMs: mean((b) => b.otherKernelMs),
    overheadMs: mean((b) => b.overheadMs),
  };
}
