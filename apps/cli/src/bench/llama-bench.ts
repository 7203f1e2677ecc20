/*
 * llama.cpp's own `llama-bench` as the baseline's source for the rows it measures, when a native
 * build is at hand (LLM_LLAMA_BENCH = the path of a llama-bench binary, e.g. from a llama.cpp
 * checkout: `cmake -B build && cmake --build build --target llama-bench`). It runs llama.cpp as
 * its users benchmark it: no Node in the process, its compute threads alone on the cores. It
 * measures prefill N (`-p N -n 0`) and decode batch 1 (`-p 0 -n steps -d context`: `steps` tokens
 * generated after `context` cached ones). `-t 1,T` runs both thread counts, `-r rounds`
 * repetitions; llama-bench reports the mean tok/s of its repetitions, and the faster thread count
 * counts, as for the node-llama-cpp rows.
 * Decode at batch B > 1 is not a llama-bench test: `llama-batched-bench`, built beside it (the same
 * folder), measures it when present (`-npp context -ntg steps -npl B,...`: B sequences, each with
 * `context` prompt tokens, then `steps` tokens each decoded together; its `speed_tg` = B x steps /
 * the decode time), at the bench's thread count. Without it those rows stay with node-llama-cpp
 * (./llama-cpp.ts), which pays Node's cost per step and reads far lower.
 * Not here: building llama.cpp (no network access is assumed; the binary is the user's).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** One row of llama-bench's `-o json` output (the fields this file reads). */
interface LlamaBenchRecord {
  n_prompt: number;
  n_gen: number;
  n_depth?: number;
  n_threads: number;
  avg_ts: number;
}

export interface NativeRow {
  kind: 'prefill' | 'decode';
  size: number;
  tokPerS: number;
  threads: number;
}

/** The llama-bench binary named by LLM_LLAMA_BENCH, or null. */
export function llamaBenchPath(env: NodeJS.ProcessEnv = process.env): string | null {
  return env.LLM_LLAMA_BENCH && env.LLM_LLAMA_BENCH.trim() !== '' ? env.LLM_LLAMA_BENCH : null;
}

/** `llama-batched-bench` beside the llama-bench binary, or null. */
export function batchedBenchPath(bench: string | null): string | null {
  if (!bench) return null;
  const p = join(dirname(bench), 'llama-batched-bench');
  return existsSync(p) ? p : null;
}

/** Parses llama-batched-bench's `--output-format jsonl` lines into decode rows (one per batch size). */
export function parseBatchedBench(jsonl: string, threads: number): NativeRow[] {
  const rows: NativeRow[] = [];
  for (const line of jsonl.split('\n')) {
    if (!line.startsWith('{')) continue; // its log lines
    const r = JSON.parse(line) as { pl?: number; speed_tg?: number };
    if (typeof r.pl !== 'number' || typeof r.speed_tg !== 'number') throw new Error(`llama-batched-bench printed a line without pl / speed_tg: ${line.slice(0, 200)}`);
    rows.push({ kind: 'decode', size: r.pl, tokPerS: r.speed_tg, threads });
  }
  if (rows.length === 0) throw new Error(`llama-batched-bench printed no results: ${jsonl.slice(0, 200)}`);
  return rows;
}

/** Decode at each batch size of `batches` with llama-batched-bench (see the file comment). */
export async function runBatchedBench(bin: string, file: string, o: { batches: number[]; context: number; steps: number; threads: number }): Promise<NativeRow[]> {
  const ctx = Math.max(...o.batches) * (o.context + o.steps + 8);
  const args = ['-m', file, '-c', String(ctx), '-b', '2048', '-ub', '512', '-npp', String(o.context), '-ntg', String(o.steps), '-npl', o.batches.join(','), '-t', String(o.threads), '--output-format', 'jsonl'];
  return parseBatchedBench(await runTool(bin, args, 'llama-batched-bench', NATIVE_HINT), o.threads);
}

/** Parses llama-bench's JSON array into rows: the best thread count per (kind, size). */
export function parseLlamaBench(json: string): NativeRow[] {
  let records: LlamaBenchRecord[];
  try {
    records = JSON.parse(json) as LlamaBenchRecord[];
  } catch {
    throw new Error(`llama-bench printed no JSON array: ${json.slice(0, 200)}`);
  }
  if (!Array.isArray(records)) throw new Error('llama-bench printed JSON that is not an array of tests');
  return fasterPerRow(records.map((r): NativeRow => (r.n_gen > 0 ? { kind: 'decode', size: 1, tokPerS: r.avg_ts, threads: r.n_threads } : { kind: 'prefill', size: r.n_prompt, tokPerS: r.avg_ts, threads: r.n_threads })));
}

/** The fastest of the rows that measure the same (kind, size), e.g. at different thread counts; first-seen order. */
export function fasterPerRow<T extends Pick<NativeRow, 'kind' | 'size' | 'tokPerS'>>(rows: T[]): T[] {
  const best = new Map<string, T>();
  for (const row of rows) {
    const key = `${row.kind} ${row.size}`;
    const had = best.get(key);
    if (!had || row.tokPerS > had.tokPerS) best.set(key, row);
  }
  return [...best.values()];
}

/** Runs llama-bench on `file` for the given prefill lengths and (when decode1) decode batch 1. */
export function runLlamaBench(bin: string, file: string, o: { prefill: number[]; decode1: boolean; context: number; steps: number; threads: number; rounds: number }): Promise<NativeRow[]> {
  const threads = [...new Set([1, o.threads])].join(',');
  const runs: string[][] = [];
  if (o.prefill.length > 0) runs.push(['-p', o.prefill.join(','), '-n', '0']);
  if (o.decode1) runs.push(['-p', '0', '-n', String(o.steps), '-d', String(o.context)]);
  return runs.reduce<Promise<NativeRow[]>>(async (acc, args) => [...(await acc), ...parseLlamaBench(await runTool(bin, ['-m', file, '-t', threads, '-r', String(o.rounds), '-o', 'json', ...args], 'llama-bench', NATIVE_HINT))], Promise.resolve([]));
}

const NATIVE_HINT = ' (LLM_LLAMA_BENCH names the llama.cpp build)';

/**
 * Runs one llama.cpp tool (`what`: its name in errors) as a child process and resolves to its
 * stdout; asynchronous, so the bench's progress keeps printing. A failure to start is
 * `bin: reason` + `hint`; a non-zero exit names the tool and the last lines of its stderr.
 */
export function runTool(bin: string, args: string[], what: string, hint = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new Error(`${bin}: ${e.message}${hint}`)));
    child.on('close', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`${what} exited with ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}
