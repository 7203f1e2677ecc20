/*
 * The bench's comparison with llama.cpp: for every (format, prefill N / decode B) both engines ran
 * in this run, our tok/s, llama.cpp's, and the ratio (ours / llama.cpp; above 1 is faster than
 * llama.cpp), and at decode batch 1 both roofline fractions, each against the bandwidth measured
 * beside its own row. Our decode batch 1 is the engine llm serve uses for one stream (the wasm
 * decoder where the model's steps run off the event loop), the other rows ONNX Runtime's step.
 * Not a judge: the "done when" block prints the batch-1 ratios beside the issue's title goal.
 */
import type { KernelRow } from './kernel';
import type { PeerRow } from './llama-cpp';
import { roofline } from './report';
import type { BenchFormat } from './workload';

const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');

/** Our row that corresponds to llama.cpp's (format, kind, size). */
export function oursFor(rows: KernelRow[], p: Pick<PeerRow, 'format' | 'kind' | 'size'>, servedWasm: boolean): KernelRow | undefined {
  const find = (kind: KernelRow['kind']) => rows.find((r) => r.format === p.format && r.kind === kind && r.size === p.size);
  if (p.kind === 'decode' && p.size === 1 && servedWasm) return find('wasm') ?? find('decode');
  return find(p.kind);
}

/** llama.cpp's roofline fraction at decode batch 1 (same byte count as ours, its own bandwidth beside it). */
export function peerRoofline(p: PeerRow): number {
  return p.bytesPerStep !== undefined && p.bandwidth ? (p.bytesPerStep * p.tokPerS) / p.bandwidth : NaN;
}

export function llamaCppTable(model: string, version: string | null, ours: KernelRow[], peer: PeerRow[], servedWasm: boolean, threads: number): string[] {
  const named = (s: PeerRow['source']) => (s === 'llama-bench' ? "llama.cpp's own llama-bench / llama-batched-bench (LLM_LLAMA_BENCH)" : version ? `node-llama-cpp ${version}'s CPU build` : "node-llama-cpp's CPU build");
  const sources = [...new Set(peer.map((p) => p.source))].map(named).join(' and ');
  const lines = [`\nvs llama.cpp: ${model}, the same weights written as GGUF, measured by ${sources} (prefill and decode 1: the better of 1 and ${threads} threads; decode B: ${threads}); ours tok/s / llama.cpp tok/s = ratio`];
  const order = (p: PeerRow) => (p.kind === 'prefill' ? 0 : 1e6) + p.size;
  const cols = [...new Set([...peer].sort((a, b) => order(a) - order(b)).map((p) => `${p.kind} ${p.size}`))];
  lines.push(`${'format'.padEnd(8)}${cols.map((c) => c.padStart(26)).join('')}`);
  for (const fmt of [...new Set(peer.map((p) => p.format))]) {
    const cells = cols.map((c) => {
      const p = peer.find((x) => x.format === fmt && `${x.kind} ${x.size}` === c);
      const o = p && oursFor(ours, p, servedWasm);
      return (p ? `${o ? f(o.tokPerS) : '-'} / ${f(p.tokPerS)} = ${o ? `${f(o.tokPerS / p.tokPerS, 2)}x` : '-'}` : '-').padStart(26);
    });
    lines.push(`${fmt.padEnd(8)}${cells.join('')}`);
  }
  const d1 = peer.filter((p) => p.kind === 'decode' && p.size === 1);
  if (d1.length > 0) {
    lines.push(`decode 1, roofline fraction (each against the bandwidth beside its own row), ours / llama.cpp: ${d1.map((p) => {
      const o = oursFor(ours, p, servedWasm);
      return `${p.format} ${o ? f(roofline(o, o.bandwidth ?? p.bandwidth!), 2) : '-'} / ${f(peerRoofline(p), 2)}`;
    }).join(', ')}`);
  }
  lines.push(`threads that won (llama.cpp): ${peer.map((p) => `${p.format} ${p.kind} ${p.size}: ${p.threads}${p.source === 'llama-bench' ? ' (native)' : ''}`).join(', ')}`);
  return lines;
}

/** The "done when" block's lines for the issue's title goal: decode batch 1 and prefill 512 against llama.cpp, per format. */
export function llamaCppDoneWhen(ours: KernelRow[], peer: PeerRow[], servedWasm: boolean): Array<{ name: string; value: number | undefined }> {
  const out: Array<{ name: string; value: number | undefined }> = [];
  for (const fmt of ['f32', 'q8_0', 'q4_0'] as BenchFormat[]) {
    for (const [kind, size] of [['decode', 1], ['prefill', 512]] as Array<[PeerRow['kind'], number]>) {
      const p = peer.find((x) => x.format === fmt && x.kind === kind && x.size === size);
      if (!p) continue;
      const o = oursFor(ours, p, servedWasm);
      out.push({ name: `${fmt.toUpperCase()} ${kind} ${kind === 'decode' ? 'batch ' : ''}${size}, ours / llama.cpp (x)`, value: o && o.tokPerS / p.tokPerS });
    }
  }
  return out;
}
