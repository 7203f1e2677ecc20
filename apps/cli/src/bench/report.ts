/*
 * The tables `llm bench` prints: the kernel table (tok/s and roofline fraction beside each), the
 * thread A/B, the end-to-end levels, and issue 20's "Done when" figures as ratios or roofline
 * fractions with their targets, each computed from numbers measured in this same run (a figure
 * whose inputs were not measured, because a section was left out, says so instead).
 * Not a judge: it prints "meets" / "below" against the target, it does not fail the run.
 */
import type { E2eResult, LoadLevel } from './e2e';
import type { KernelRow, ThreadAb } from './kernel';
import type { PeerRow } from './llama-cpp';
import { llamaCppDoneWhen } from './report-llama-cpp';
import type { SpeculativeResult } from './speculative';
import type { BenchFormat } from './workload';

const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function kernelTable(model: string, rows: KernelRow[], bandwidth: number, offThread = true): string[] {
  const lines = [`\nkernel: ${model}, one OrtBackend step (${offThread ? 'worker thread' : "event loop's thread, as served"}); tok/s (roofline fraction = bytes read per step x steps/s / ${f(bandwidth / 1e9, 2)} GB/s)`];
  const cols = [...new Set(rows.map((r) => `${r.kind} ${r.size}`))];
  lines.push(`${'format'.padEnd(8)}${'MB/step'.padStart(9)}${cols.map((c) => c.padStart(20)).join('')}`);
  for (const fmt of [...new Set(rows.map((r) => r.format))]) {
    const mine = rows.filter((r) => r.format === fmt);
    const cells = cols.map((c) => {
      const r = mine.find((x) => `${x.kind} ${x.size}` === c);
      return (r ? `${f(r.tokPerS)} (${f(roofline(r, bandwidth), 2)})` : '-').padStart(20);
    });
    lines.push(`${fmt.padEnd(8)}${f(Math.min(...mine.map((r) => r.bytesPerStep)) / 1e6, 0).padStart(9)}${cells.join('')}`);
  }
  if (rows.some((r) => r.kind === 'wasm')) lines.push(`wasm 1: decode batch 1 on the platform's own SIMD kernels (--decode-kernel wasm, ${offThread ? 'how llm serve runs one stream of this model' : "which llm serve uses only for models whose steps run off the event loop, not this one"}); decode B: every step on ONNX Runtime`);
  const beside = rows.filter((r) => r.bandwidth !== undefined);
  if (beside.length > 0) lines.push(`decode 1, wasm 1${rows.some((r) => r.kind === 'wasm-portable') ? ', wasm-portable 1' : ''}: roofline against the bandwidth measured right before and after the row (the larger): ${beside.map((r) => `${r.format} ${r.kind} ${f(r.bandwidth! / 1e9, 1)}`).join(', ')} GB/s`);
  if (rows.some((r) => r.kind === 'wasm-portable')) lines.push('wasm-portable 1: the same with relaxed SIMD off, so Q4_0 runs on the portable kernel instead of the int8 one (an A/B of the two)');
  if (rows.some((r) => r.kind === 'linear-only')) lines.push("linear-only B: the same weights through the same matmul nodes and nothing else (no attention, norms, KV): ONNX Runtime's ceiling for a step at batch B");
  return lines;
}

/** The row's roofline fraction: against the bandwidth measured beside it where there is one (decode batch 1 rows), else the run's. */
export function roofline(r: KernelRow, bandwidth: number): number {
  return (r.bytesPerStep * (1000 / r.stepMs)) / (r.bandwidth ?? bandwidth);
}

export function threadTable(model: string, ab: ThreadAb): string[] {
  return [
    `\nstep thread A/B: ${model}, F32, the same rounds (event-loop thread = the old path)`,
    `${''.padEnd(34)}${'event-loop thread'.padStart(18)}${'worker thread'.padStart(16)}${'ratio'.padStart(8)}`,
    `${'prefill 512 tok/s'.padEnd(34)}${f(ab.prefill512.main).padStart(18)}${f(ab.prefill512.thread).padStart(16)}${f(ab.prefill512.thread / ab.prefill512.main, 2).padStart(8)}`,
    `${'decode batch 1 tok/s'.padEnd(34)}${f(ab.decode1.main).padStart(18)}${f(ab.decode1.thread).padStart(16)}${f(ab.decode1.thread / ab.decode1.main, 2).padStart(8)}`,
    `${`longest loop stall, prefill ${ab.stallTokens} ms`.padEnd(34)}${f(ab.stallMs.main).padStart(18)}${f(ab.stallMs.thread).padStart(16)}`,
  ];
}

/**
 * The decode phase's aggregate rate: clients / mean inter-token gap. Every running stream gets one
 * token per decode step, so this is tokens per second while all decode, the end-to-end counterpart
 * of the kernel's decode-batch figure (the wall-clock rate also holds the prefill of every prompt).
 */
export function decodeRate(l: LoadLevel): number {
  const mean = l.itlMs.reduce((a, b) => a + b, 0) / Math.max(1, l.itlMs.length);
  return l.itlMs.length === 0 || !(mean > 0) ? NaN : (l.clients * 1000) / mean;
}

function levelLine(l: LoadLevel): string {
  return `${String(l.clients).padStart(7)}  ${f(l.outputTokens / l.wallS).padStart(9)}  ${f(decodeRate(l)).padStart(10)}  ${f(pct(l.ttftMs, 50)).padStart(8)}  ${f(pct(l.ttftMs, 99)).padStart(8)}  ${f(pct(l.itlMs, 50)).padStart(8)}  ${f(pct(l.itlMs, 99)).padStart(8)}  ${f(l.wallS, 2).padStart(7)}`;
}

/** The level's CPU ms per output token by server process, most first, and their total (undefined without /proc figures). */
export function cpuLine(l: LoadLevel): string | undefined {
  if (!l.cpuS || l.outputTokens === 0) return undefined;
  const per = (s: number) => f((1000 * s) / l.outputTokens, 3);
  const rows = Object.entries(l.cpuS).filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((t, [, s]) => t + s, 0);
  return `         CPU ms per output token: ${rows.map(([n, s]) => `${n} ${per(s)}`).join(', ')}; total ${per(total)}`;
}

export function e2eTable(model: string, r: E2eResult): string[] {
  const lines = [`\nend to end: ${model}, llm serve (${r.mode}), gRPC streaming clients`, 'clients  out tok/s  decode tok/s  TTFT p50  TTFT p99   ITL p50   ITL p99   wall s   (ms; out = tokens / wall, prefill included; decode = clients / mean ITL)'];
  for (const l of r.levels) {
    lines.push(levelLine(l));
    const cpu = cpuLine(l);
    if (cpu) lines.push(cpu);
  }
  if (r.burst) lines.push(`burst (${r.burst.clients} prompts at once):`, levelLine(r.burst));
  return lines;
}

export function speculativeTable(model: string, s: SpeculativeResult): string[] {
  return [
    `\nspeculative: ${model}, llm serve (embedded), 1 client, ${s.requests} repetitive prompts (a phrase repeated), greedy`,
    `  decode tok/s off ${f(s.off)}, on (--speculative ngram) ${f(s.on)}: ${f(s.on / s.off, 2)}x; greedy outputs identical: ${s.identical ? 'yes' : 'NO'}`,
  ];
}

export interface DoneWhenInputs {
  spec?: SpeculativeResult;
  kernel: KernelRow[];
  bandwidth: number;
  ab?: ThreadAb;
  e2e: E2eResult[];
  burstPromptTokens: number;
  /** Whether llm serve runs this model's single-stream decode on the wasm decoder (models whose steps run off the event loop). */
  servedWasm?: boolean;
  /** llama.cpp's rows on the same weights (the llama-cpp section), when it ran. */
  peer?: PeerRow[];
}

/** Issue 20's "Done when" figures for one model, each a ratio or roofline fraction with its target. */
export function doneWhen(model: string, x: DoneWhenInputs): string[] {
  const row = (fmt: BenchFormat, kind: KernelRow['kind'], size: number) => x.kernel.find((r) => r.format === fmt && r.kind === kind && r.size === size);
  const out: string[] = [`\n"done when" figures: ${model} (measured in this run; targets from issue 20, quiet machine)`];
  const line = (name: string, value: number | undefined, target: string, ok: (v: number) => boolean, missing: string) =>
    out.push(`  ${name.padEnd(68)}${value === undefined || !Number.isFinite(value) ? `n/a (${missing})` : `${f(value, 2).padStart(6)}   target ${target}   ${ok(value) ? 'meets' : 'below'}`}`);
  const sub = (name: string, v: number) => out.push(`  ${`  ${name}`.padEnd(68)}${f(v, 2).padStart(6)}`);
  /** Decode batch 1 as served: the wasm decoder's row where it ran, else the ORT step's. */
  const served1 = (fmt: BenchFormat) => (x.servedWasm !== false ? row(fmt, 'wasm', 1) : undefined) ?? row(fmt, 'decode', 1);
  for (const [fmt, target] of [['f32', 0.95], ['q8_0', 0.7], ['q4_0', 0.6]] as Array<[BenchFormat, number]>) {
    const r = served1(fmt);
    line(`${fmt.toUpperCase()} decode batch 1, roofline fraction (${r?.kind === 'wasm' ? 'served: wasm decoder' : 'ONNX Runtime step'})`, r && roofline(r, x.bandwidth), `>= ${target}`, (v) => v >= target, `decode 1 at ${fmt} not run`);
    const ortRow = row(fmt, 'decode', 1);
    if (r?.kind === 'wasm' && ortRow) sub('every step on ONNX Runtime (--decode-kernel ort)', roofline(ortRow, x.bandwidth));
    const portable = row(fmt, 'wasm-portable', 1);
    if (r?.kind === 'wasm' && portable) sub(`the portable Q4_0 kernel (relaxed SIMD off; int8 kernel ${f(r.tokPerS / portable.tokPerS, 2)}x it)`, roofline(portable, x.bandwidth));
    const lin = row(fmt, 'linear-only', 1);
    if (lin) sub("ONNX Runtime's matmuls alone (its ceiling), batch 1", roofline(lin, x.bandwidth));
  }
  line('prefill 512 F32: worker-thread path / event-loop path (x)', x.ab && x.ab.prefill512.thread / x.ab.prefill512.main, '>= 1.2', (v) => v >= 1.2, 'thread A/B not run');
  const d1 = served1('f32');
  const d32 = row('f32', 'decode', 32);
  line('decode batch 32 aggregate / batch 1 as served, F32 (x)', d1 && d32 && d32.tokPerS / d1.tokPerS, '>= 14', (v) => v >= 14, 'decode 1 and 32 at f32 not both run');
  const o1 = row('f32', 'decode', 1);
  if (d1?.kind === 'wasm' && o1 && d32) sub('the same against the ONNX Runtime batch-1 step (x)', d32.tokPerS / o1.tokPerS);
  // A mode run several times (e.g. --modes embedded,embedded-loop,embedded, to even out load) pools its runs.
  const pooled = (mode: string, c: number) => x.e2e.filter((e) => e.mode === mode).flatMap((e) => e.levels.filter((l) => l.clients === c));
  const rateOf = (mode: string, c: number) => {
    const ls = pooled(mode, c);
    return ls.length === 0 ? undefined : ls.reduce((t, l) => t + l.outputTokens, 0) / ls.reduce((t, l) => t + l.wallS, 0);
  };
  const e32 = rateOf('embedded', 32);
  const decode32 = (() => {
    const ls = pooled('embedded', 32);
    return ls.length === 0 ? undefined : ls.reduce((t, l) => t + decodeRate(l), 0) / ls.length;
  })();
  line('32 clients, llm serve embedded, decode phase / kernel decode 32', decode32 !== undefined && d32 ? decode32 / d32.tokPerS : undefined, '>= 0.8', (v) => v >= 0.8, 'needs e2e 32 clients and decode 32 at f32');
  if (e32 !== undefined && d32) out.push(`  ${'  the same, wall-clock rate (every prefill included)'.padEnd(68)}${f(e32 / d32.tokPerS, 2).padStart(6)}`);
  const dist = rateOf('distributed', 32);
  line('distributed / embedded, 32 clients', dist !== undefined && e32 !== undefined ? dist / e32 : undefined, '>= 0.95', (v) => v >= 0.95, 'needs both modes at 32 clients');
  const loop32 = rateOf('embedded-loop', 32);
  if (loop32 !== undefined && e32 !== undefined) out.push(`  ${'A/B: embedded 32 clients, worker-thread / event-loop step (x)'.padEnd(68)}${f(e32 / loop32, 2).padStart(6)}`);
  for (const [on, off] of [['embedded-async', 'embedded-sync'], ['distributed', 'distributed-sync']]) {
    for (const c of [1, 32]) {
      const a = rateOf(on, c);
      const b = rateOf(off, c);
      if (a !== undefined && b !== undefined) out.push(`  ${`A/B: ${on} ${c} client${c > 1 ? 's' : ''}, async scheduling on / off, tok/s (x)`.padEnd(68)}${f(a / b, 2).padStart(6)}`);
    }
  }
  const burst = x.e2e.find((e) => e.mode === 'embedded')?.burst;
  const p128 = row('f32', 'prefill', 128);
  const allPrefillMs = burst && p128 ? ((burst.clients * x.burstPromptTokens) / p128.tokPerS) * 1000 : undefined;
  line(`burst TTFT p50 / time to prefill all prompts (at prefill-128 rate)`, burst && allPrefillMs ? pct(burst.ttftMs, 50) / allPrefillMs : undefined, '<= 0.55', (v) => v <= 0.55, 'needs the embedded burst and prefill 128 at f32');
  line('speculative (prompt lookup) / off, decode tok/s at batch 1 (x)', x.spec && x.spec.on / x.spec.off, '>= 1.5', (v) => v >= 1.5, 'speculative section not run (or no --speculative in llm serve)');
  if (x.spec) out.push(`  ${'greedy output identical with speculation on and off'.padEnd(68)}${x.spec.identical ? '   yes' : '    NO'}`);
  if (x.peer && x.peer.length > 0) {
    out.push('  issue 20\'s title, "faster than llama.cpp on the same CPU" (llama-cpp section, same weights as GGUF):');
    for (const { name, value } of llamaCppDoneWhen(x.kernel, x.peer, x.servedWasm !== false)) line(name, value, '> 1', (v) => v > 1, 'our row not run');
  } else out.push(`  ${'faster than llama.cpp (issue 20\'s title)'.padEnd(68)}n/a (llama-cpp section not run)`);
  return out;
}
