/*
 * The bench's `llama-cpp` section: llama.cpp itself, measured in the same run on the same weights,
 * as the baseline the platform's kernel figures are divided by. Each format's weights are written
 * as a GGUF file by our own writer (F32, or quantized exactly as the kernel section quantizes
 * them: Q8_0 / Q4_0 linear layers with a Q8_0 LM head), and apps/cli/peer/llama-cpp.mjs runs
 * llama.cpp's prebuilt CPU build (node-llama-cpp, installed beside the repo; see that file) on it
 * in a child process: prefill of each length, decode at each batch size with `context` cached
 * tokens per sequence (llama.cpp's default F16 KV cache, no flash attention: what `llama-server`
 * runs by default on a CPU).
 * Threads: prefill and decode batch 1 run at 1 thread and at the bench's thread count, and the
 * faster counts. On this 2-core machine node-llama-cpp's 2-thread decode was slower than its
 * 1-thread decode at batch 1 (Q4_0: 60 vs 130 tok/s), as its compute threads contend with Node's
 * own; taking the better of the two keeps the baseline from being understated. Decode at batch > 1
 * runs at the bench's thread count only: it won 8 of the 9 batched rows of a quiet full run, and
 * priming 8 + 32 + 64 sequences with `context` tokens each is most of this section's time.
 * Decode batch 1 also gets the bandwidth measured right before and after it (the larger), as the
 * kernel section's rows do, so llama.cpp's own roofline fraction is printed beside ours.
 * With LLM_LLAMA_BENCH naming a native llama-bench binary, prefill and decode batch 1 come from it
 * instead, and decode at batch > 1 from llama-batched-bench when it sits beside it (./llama-bench.ts):
 * llama.cpp without Node beside it, as its users benchmark it.
 * Not here: the comparison table (report-llama-cpp.ts), installing the peer (it only says how).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeModelWeights, saveGguf } from '@llm/model';
import { besideBandwidth } from './bandwidth';
import { batchedBenchPath, fasterPerRow, runBatchedBench, runLlamaBench, runTool } from './llama-bench';
import { weightBytesPerStep, type BenchFormat, type BenchModel } from './workload';

export interface PeerRow {
  format: BenchFormat;
  kind: 'prefill' | 'decode';
  /** Prompt tokens (prefill) or sequences (decode). */
  size: number;
  tokPerS: number;
  /** The thread count that gave tokPerS (prefill and decode 1: the better of 1 and the bench's; decode B: the bench's). */
  threads: number;
  /** Which llama.cpp measured it: the native llama-bench binary or node-llama-cpp's build. */
  source: 'llama-bench' | 'node-llama-cpp';
  /** Decode batch 1: weight bytes one step reads (the same count as the kernel section's) and the bandwidth beside it. */
  bytesPerStep?: number;
  bandwidth?: number;
}

export interface PeerPlan {
  formats: BenchFormat[];
  prefill: number[];
  decode: number[];
  threads: number;
  context: number;
  /** Rounds per row (the best counts) and greedy tokens per sequence in a decode round. */
  rounds: number;
  steps: number;
}

/** The driver script (not compiled: it is an ES module run by node directly). */
export function peerDriver(root: string): string {
  return join(root, 'apps', 'cli', 'peer', 'llama-cpp.mjs');
}

/** Whether llama.cpp runs here: its version, or the driver's one-line reason (how to install it). */
export function probePeer(driver: string): { version: string } | { why: string } {
  const r = spawnSync(process.execPath, [driver, JSON.stringify({ op: 'probe' })], { encoding: 'utf8', timeout: 120_000, env: process.env });
  if (r.status === 0) {
    try {
      return { version: String((JSON.parse(r.stdout) as { version?: string }).version ?? 'unknown') };
    } catch {
      return { why: `the llama.cpp driver printed no JSON: ${r.stdout.slice(0, 200)}` };
    }
  }
  return { why: (r.stderr || r.error?.message || `exit ${r.status ?? r.signal}`).trim().split('\n').pop()! };
}

interface PeerBenchOut {
  prefill: Array<{ tokens: number; tokPerS: number }>;
  decode: Array<{ batch: number; tokPerS: number }>;
}

/** One driver request in a child process. */
async function runDriver(driver: string, req: Record<string, unknown>): Promise<PeerBenchOut> {
  const out = await runTool(process.execPath, [driver, JSON.stringify(req)], 'llama.cpp driver');
  try {
    return JSON.parse(out) as PeerBenchOut;
  } catch {
    throw new Error(`llama.cpp driver printed no JSON: ${out.slice(0, 200)}`);
  }
}

/** The best of the given thread counts for one request; one row per (kind, size). */
async function bestOfThreads(driver: string, file: string, plan: PeerPlan, prefill: number[], decode: number[], counts = [1, plan.threads]): Promise<Array<{ kind: 'prefill' | 'decode'; size: number; tokPerS: number; threads: number }>> {
  const rows: Array<{ kind: 'prefill' | 'decode'; size: number; tokPerS: number; threads: number }> = [];
  for (const threads of [...new Set(counts)]) {
    const r = await runDriver(driver, { op: 'bench', file, prefill, decode, rounds: plan.rounds, steps: plan.steps, context: plan.context, threads });
    rows.push(...r.prefill.map((p) => ({ kind: 'prefill' as const, size: p.tokens, tokPerS: p.tokPerS, threads })), ...r.decode.map((d) => ({ kind: 'decode' as const, size: d.batch, tokPerS: d.tokPerS, threads })));
  }
  return fasterPerRow(rows);
}

/**
 * llama.cpp's rows for every format of the plan, on `m`'s weights written as GGUF files with
 * `tokenizerJson`'s vocabulary: prefill and decode batch 1 from the native llama-bench when
 * `native` names one (./llama-bench.ts), else from node-llama-cpp (`driver`); decode at batch > 1
 * from llama-batched-bench beside `native`, else node-llama-cpp (left out without either).
 */
export async function llamaCppRows(driver: string | null, native: string | null, m: BenchModel, tokenizerJson: Record<string, unknown>, plan: PeerPlan, progress: (s: string) => void): Promise<PeerRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-bench-gguf-'));
  const rows: PeerRow[] = [];
  const both = `threads 1 and ${plan.threads}`;
  const nativeBatched = batchedBenchPath(native);
  try {
    for (const format of plan.formats) {
      const file = join(dir, `${format}.gguf`);
      progress(`llama.cpp ${m.name} ${format}: writing ${file}`);
      const weights = format === 'f32' ? m.weights : quantizeModelWeights(m.config, m.weights, { format });
      saveGguf(file, { config: m.config, weights }, { tokenizerJson });
      const batched = plan.decode.filter((b) => b !== 1);
      const prefillNode = native ? [] : plan.prefill;
      if (native && plan.prefill.length > 0) {
        progress(`llama.cpp ${m.name} ${format}: llama-bench prefill ${plan.prefill.join(', ')} (${both})`);
        for (const r of await runLlamaBench(native, file, { prefill: plan.prefill, decode1: false, context: plan.context, steps: plan.steps, threads: plan.threads, rounds: plan.rounds })) rows.push({ format, ...r, source: 'llama-bench' });
      }
      if (driver && prefillNode.length > 0) {
        progress(`llama.cpp ${m.name} ${format}: prefill ${prefillNode.join(', ')} (${both})`);
        for (const r of await bestOfThreads(driver, file, plan, prefillNode, [])) rows.push({ format, ...r, source: 'node-llama-cpp' });
      }
      if (nativeBatched && batched.length > 0) {
        progress(`llama.cpp ${m.name} ${format}: llama-batched-bench decode ${batched.join(', ')} (threads ${plan.threads})`);
        for (const r of await runBatchedBench(nativeBatched, file, { batches: batched, context: plan.context, steps: plan.steps, threads: plan.threads })) rows.push({ format, ...r, source: 'llama-bench' });
      } else if (driver && batched.length > 0) {
        progress(`llama.cpp ${m.name} ${format}: decode ${batched.join(', ')} (threads ${plan.threads})`);
        for (const r of await bestOfThreads(driver, file, plan, [], batched, [plan.threads])) rows.push({ format, ...r, source: 'node-llama-cpp' });
      }
      if (plan.decode.includes(1)) {
        progress(`llama.cpp ${m.name} ${format}: ${native ? 'llama-bench ' : ''}decode 1 (${both}), with the bandwidth beside it`);
        const { result: r, bandwidth } = await besideBandwidth(plan.threads, async () =>
          native
            ? { ...(await runLlamaBench(native, file, { prefill: [], decode1: true, context: plan.context, steps: plan.steps, threads: plan.threads, rounds: plan.rounds }))[0], source: 'llama-bench' as const }
            : { ...(await bestOfThreads(driver!, file, plan, [], [1]))[0], source: 'node-llama-cpp' as const });
        rows.push({ format, ...r, bytesPerStep: weightBytesPerStep(m.config, format), bandwidth });
      }
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
