/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * `llm bench`'s arithmetic and flags, against hand-worked numbers: the bytes one SmolLM-135M
 * step reads (the issue's 538 MB at F32), the roofline fraction, the "done when" ratios and
 * their verdicts, percentiles, the quick plan, and one-line errors for bad flags. The bandwidth
 * probe is checked for plausibility only (its figure depends on the machine).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig } from '@llm/model';
import { CliError } from '../errors';
import { llm } from '../../test/support/llm';
import { measureBandwidth, wasmTriad } from './bandwidth';
import type { KernelRow } from './kernel';
import { parseBenchFlags, serveSchedulingArgs } from './options';
import type { PeerRow } from './llama-cpp';
import { batchedBenchPath, llamaBenchPath, parseBatchedBench, parseLlamaBench } from './llama-bench';
import { doneWhen, kernelTable, pct, roofline } from './report';
import { llamaCppTable, oursFor, peerRoofline } from './report-llama-cpp';
import { kvBytesPerStep, SMOLLM_135M, weightBytesPerStep } from './workload';

const smol = makeConfig('llama', SMOLLM_135M);

describe('bench workload bytes', () => {
  it('reads 537,919,488 weight bytes per F32 SmolLM-135M step', () => {
    // per layer: q,k,v 576 x (9 + 2*3) x 64 = 552,960; o 576 x 576 = 331,776; gate, up, down 3 x 576 x 1536 = 2,654,208
    // 30 layers x 3,538,944 = 106,168,320 weights; head 49,152 x 576 = 28,311,552; x 4 bytes
    expect(weightBytesPerStep(smol, 'f32')).toBe((106_168_320 + 28_311_552) * 4);
    // Q8_0: 34 bytes per 32 weights everywhere (the head too); Q4_0: 18 per 32, head Q8_0
    expect(weightBytesPerStep(smol, 'q8_0')).toBeCloseTo(((106_168_320 + 28_311_552) * 34) / 32, 3);
    expect(weightBytesPerStep(smol, 'q4_0')).toBeCloseTo((106_168_320 * 18) / 32 + (28_311_552 * 34) / 32, 3);
  });

  it('reads K and V of every cached token of every layer', () => {
    // 128 tokens x 30 layers x 2 (K, V) x 3 heads x 64 x 4 bytes
    expect(kvBytesPerStep(smol, 128)).toBe(128 * 30 * 2 * 3 * 64 * 4);
  });
});

const row = (format: KernelRow['format'], kind: KernelRow['kind'], size: number, stepMs: number, bytesPerStep: number): KernelRow => ({ format, kind, size, stepMs, bytesPerStep, tokPerS: (size * 1000) / stepMs });

describe('bench report', () => {
  it('computes the roofline fraction as bytes x steps/s / bandwidth', () => {
    // 500 MB per step, 40 ms per step -> 25 steps/s x 500 MB = 12.5 GB/s; over 20 GB/s = 0.625
    expect(roofline(row('f32', 'decode', 1, 40, 500e6), 20e9)).toBeCloseTo(0.625, 12);
  });

  it('uses the bandwidth measured beside a row where it has one, and says which in the kernel table', () => {
    const beside = { ...row('f32', 'wasm', 1, 40, 500e6), bandwidth: 25e9 };
    expect(roofline(beside, 20e9)).toBeCloseTo(0.5, 12); // 12.5 GB/s over its own 25, not the run's 20
    const table = kernelTable('m', [row('f32', 'decode', 8, 80, 600e6), beside], 20e9).join('\n');
    expect(table).toContain('25.0 (0.50)'); // wasm 1: 25 tok/s at 0.50
    expect(table).toContain('roofline against the bandwidth measured right before and after the row (the larger): f32 wasm 25.0 GB/s');
  });

  it('prints each done-when figure with its verdict, and n/a for figures whose inputs were not measured', () => {
    const kernel = [row('f32', 'decode', 1, 40, 500e6), row('f32', 'decode', 32, 80, 600e6), row('f32', 'prefill', 128, 100, 500e6)];
    // decode 1: 25 tok/s; decode 32: 400 tok/s -> 16x; prefill 128: 1280 tok/s
    const lvl = (clients: number, outputTokens: number, wallS: number, ttftMs: number[] = [], itlMs: number[] = []) => ({ clients, outputTokens, wallS, ttftMs, itlMs });
    const lines = doneWhen('m', {
      kernel,
      bandwidth: 20e9,
      e2e: [
        { mode: 'embedded', levels: [lvl(32, 340, 1, [], [90, 100, 110])], burst: lvl(4, 8, 1, [100, 120, 140, 160]) },
        { mode: 'distributed', levels: [lvl(32, 323, 1)] },
      ],
      burstPromptTokens: 64,
    }).join('\n');
    expect(lines).toMatch(/F32 decode batch 1, roofline fraction \(ONNX Runtime step\)\s+0\.63 {3}target >= 0\.95 {3}below/);
    expect(lines).toMatch(/Q8_0 decode batch 1.*n\/a/);
    expect(lines).toMatch(/worker-thread path \/ event-loop path.*n\/a \(thread A\/B not run\)/);
    expect(lines).toMatch(/batch 32 aggregate \/ batch 1 as served, F32 \(x\)\s+16\.00 {3}target >= 14 {3}meets/);
    // decode phase: 32 clients / mean ITL 100 ms = 320 tok/s; / 400 = 0.80
    expect(lines).toMatch(/32 clients, llm serve embedded, decode phase \/ kernel decode 32\s+0\.80 {3}target >= 0\.8 {3}meets/);
    expect(lines).toMatch(/the same, wall-clock rate \(every prefill included\)\s+0\.85/); // 340 / 400
    expect(lines).toMatch(/distributed \/ embedded, 32 clients\s+0\.95 {3}target >= 0\.95 {3}meets/); // 323 / 340
    // burst: 4 x 64 tokens at 1280 tok/s = 200 ms; TTFT p50 = 120 ms -> 0.60
    expect(lines).toMatch(/burst TTFT p50 .*\s+0\.60 {3}target <= 0\.55 {3}below/);
  });

  it('takes decode batch 1 from the wasm decoder where it ran, with the ONNX Runtime step beside it', () => {
    // wasm 1: 20 ms per step (50 tok/s); ORT decode 1: 40 ms (25 tok/s); decode 32: 80 ms (400 tok/s)
    const kernel = [row('f32', 'decode', 1, 40, 500e6), row('f32', 'wasm', 1, 20, 500e6), row('f32', 'decode', 32, 80, 600e6)];
    const lines = doneWhen('m', { kernel, bandwidth: 50e9, e2e: [], burstPromptTokens: 64 }).join('\n');
    // 500 MB x 50 steps/s = 25 GB/s of 50: 0.50; the ORT step 12.5 / 50 = 0.25
    expect(lines).toMatch(/F32 decode batch 1, roofline fraction \(served: wasm decoder\)\s+0\.50 {3}target >= 0\.95 {3}below/);
    expect(lines).toMatch(/every step on ONNX Runtime \(--decode-kernel ort\)\s+0\.25/);
    expect(lines).toMatch(/batch 1 as served, F32 \(x\)\s+8\.00 {3}target >= 14 {3}below/); // 400 / 50
    expect(lines).toMatch(/against the ONNX Runtime batch-1 step \(x\)\s+16\.00/); // 400 / 25
  });

  it('pools the runs of a mode run several times, and prints the worker-thread / event-loop A/B', () => {
    const lvl = (outputTokens: number) => ({ clients: 32, outputTokens, wallS: 1, ttftMs: [], itlMs: [] });
    const lines = doneWhen('m', {
      kernel: [row('f32', 'decode', 32, 100, 500e6)], // 320 tok/s
      bandwidth: 20e9,
      e2e: [{ mode: 'embedded', levels: [lvl(340)] }, { mode: 'embedded-loop', levels: [lvl(110)] }, { mode: 'embedded', levels: [lvl(100)] }],
      burstPromptTokens: 100,
    }).join('\n');
    // embedded pooled: (340 + 100) / (1 + 1) = 220 tok/s; / 320 = 0.69; / 110 = 2.00
    expect(lines).toMatch(/decode phase \/ kernel decode 32\s+n\/a/); // no inter-token gaps recorded
    expect(lines).toMatch(/wall-clock rate .*\s+0\.69/);
    expect(lines).toMatch(/worker-thread \/ event-loop step \(x\)\s+2\.00/);
  });

  it('prints the async-scheduling A/B per serving mode and client count that ran both ways', () => {
    const lvl = (clients: number, outputTokens: number) => ({ clients, outputTokens, wallS: 2, ttftMs: [], itlMs: [] });
    const lines = doneWhen('m', {
      kernel: [],
      bandwidth: 20e9,
      e2e: [
        { mode: 'embedded-async', levels: [lvl(1, 90), lvl(32, 600)] },
        { mode: 'embedded-sync', levels: [lvl(1, 60), lvl(32, 500)] },
        { mode: 'distributed', levels: [lvl(1, 80)] },
      ],
      burstPromptTokens: 100,
    }).join('\n');
    expect(lines).toMatch(/A\/B: embedded-async 1 client, async scheduling on \/ off, tok\/s \(x\)\s+1\.50/); // 45 / 30 tok/s
    expect(lines).toMatch(/A\/B: embedded-async 32 clients, async scheduling on \/ off, tok\/s \(x\)\s+1\.20/);
    expect(lines).not.toMatch(/A\/B: distributed/); // no distributed-sync run
  });

  it('divides our rows by llama.cpp\'s on the same (format, size), decode 1 from the engine that serves one stream', () => {
    const ours = [row('f32', 'decode', 1, 20, 500e6), row('f32', 'wasm', 1, 16, 500e6), row('f32', 'prefill', 512, 800, 500e6), row('q8_0', 'decode', 8, 40, 150e6)];
    ours[1].bandwidth = 40e9;
    const peer: PeerRow[] = [
      { format: 'f32', kind: 'decode', size: 1, tokPerS: 40, threads: 1, bytesPerStep: 500e6, bandwidth: 50e9, source: 'llama-bench' },
      { format: 'f32', kind: 'prefill', size: 512, tokPerS: 320, threads: 2, source: 'llama-bench' },
      { format: 'q8_0', kind: 'decode', size: 8, tokPerS: 400, threads: 2, source: 'node-llama-cpp' },
    ];
    // served one stream on the wasm decoder: 1000/16 = 62.5 tok/s; on ONNX Runtime 50 tok/s
    expect(oursFor(ours, peer[0], true)?.kind).toBe('wasm');
    expect(oursFor(ours, peer[0], false)?.kind).toBe('decode');
    // llama.cpp: 40 steps/s x 500 MB = 20 GB/s of 50 -> 0.4; ours: 62.5 x 500 MB = 31.25 GB/s of 40 -> 0.78
    expect(peerRoofline(peer[0])).toBeCloseTo(0.4, 12);
    const t = llamaCppTable('m', '9.9', ours, peer, true, 2).join('\n');
    expect(t).toContain("measured by llama.cpp's own llama-bench / llama-batched-bench (LLM_LLAMA_BENCH) and node-llama-cpp 9.9's CPU build");
    expect(t).toContain('f32 decode 1: 1 (native), f32 prefill 512: 2 (native), q8_0 decode 8: 2');
    expect(t).toMatch(/^format +prefill 512 +decode 1 +decode 8$/m); // prefill before decode, by size
    expect(t).toMatch(/^f32 +640\.0 \/ 320\.0 = 2\.00x +62\.5 \/ 40\.0 = 1\.56x +-$/m); // 512 tokens in 800 ms = 640 tok/s
    expect(t).toMatch(/^q8_0 +- +- +200\.0 \/ 400\.0 = 0\.50x$/m); // 8 sequences in 40 ms = 200 tok/s
    expect(t).toMatch(/ours \/ llama\.cpp: f32 0\.78 \/ 0\.40/);
    const done = doneWhen('m', { kernel: ours, bandwidth: 40e9, e2e: [], burstPromptTokens: 100, servedWasm: true, peer }).join('\n');
    expect(done).toMatch(/F32 decode batch 1, ours \/ llama\.cpp \(x\) +1\.56 {3}target > 1 {3}meets/);
    expect(done).toMatch(/F32 prefill 512, ours \/ llama\.cpp \(x\) +2\.00 {3}target > 1 {3}meets/);
    expect(doneWhen('m', { kernel: ours, bandwidth: 40e9, e2e: [], burstPromptTokens: 100 }).join('\n')).toMatch(/faster than llama\.cpp.*n\/a \(llama-cpp section not run\)/);
  });

  it("reads llama-bench's JSON: prefill per prompt length, decode batch 1, the faster thread count", () => {
    const rec = (n_prompt: number, n_gen: number, n_threads: number, avg_ts: number) => ({ n_prompt, n_gen, n_depth: n_gen > 0 ? 128 : 0, n_threads, avg_ts, build_commit: 'x' });
    const json = JSON.stringify([rec(128, 0, 1, 300), rec(512, 0, 1, 280), rec(128, 0, 2, 520), rec(512, 0, 2, 500), rec(0, 32, 1, 41), rec(0, 32, 2, 39)]);
    expect(parseLlamaBench(json)).toEqual([
      { kind: 'prefill', size: 128, tokPerS: 520, threads: 2 },
      { kind: 'prefill', size: 512, tokPerS: 500, threads: 2 },
      { kind: 'decode', size: 1, tokPerS: 41, threads: 1 },
    ]);
    expect(() => parseLlamaBench('error: unknown argument')).toThrow(/llama-bench printed no JSON array: error: unknown argument/);
    expect(llamaBenchPath({})).toBeNull();
    // llama-batched-bench: one jsonl line per batch size, log lines between them ignored
    const line = (pl: number, speed_tg: number) => JSON.stringify({ n_kv_max: 10240, pp: 128, tg: 16, pl, n_threads: 2, t_tg: 1, speed_tg, speed_pp: 500 });
    expect(parseBatchedBench(['main: n_kv_max = 10240', line(8, 177.4), line(32, 302.9), ''].join('\n'), 2)).toEqual([
      { kind: 'decode', size: 8, tokPerS: 177.4, threads: 2 },
      { kind: 'decode', size: 32, tokPerS: 302.9, threads: 2 },
    ]);
    expect(() => parseBatchedBench('error: model not found', 2)).toThrow(/llama-batched-bench printed no results: error: model not found/);
    expect(batchedBenchPath(null)).toBeNull();
    expect(batchedBenchPath(join(tmpdir(), 'no-such-dir', 'llama-bench'))).toBeNull();
    expect(llamaBenchPath({ LLM_LLAMA_BENCH: '/opt/llama-bench' })).toBe('/opt/llama-bench');
  });

  it('takes percentiles as the nearest rank', () => {
    expect(pct([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(pct([5, 1, 4, 2, 3], 99)).toBe(5);
    expect(pct([], 50)).toBeNaN();
  });
});

describe('bench flags', () => {
  it('defaults to every figure of the issue, and --quick to a small smoke plan', () => {
    const full = parseBenchFlags({ threads: '2', context: '128' });
    expect([full.prefill, full.decode, full.clients, full.formats, full.modes]).toEqual([[128, 512, 2048], [1, 8, 32, 64], [1, 8, 32, 64], ['f32', 'q8_0', 'q4_0'], ['embedded', 'distributed']]);
    expect([...full.sections]).toEqual(['kernel', 'llama-cpp', 'threads', 'e2e', 'speculative']);
    const quick = parseBenchFlags({ quick: true, threads: '2', context: '128', sections: 'kernel' });
    expect([quick.smolLayers, quick.prefill, quick.decode, quick.modes, [...quick.sections]]).toEqual([2, [128], [1, 8], ['embedded'], ['kernel']]);
  });

  it('names the flag and the reason for a bad value', () => {
    expect(() => parseBenchFlags({ threads: '2', context: '128', sections: 'kernel,speed' })).toThrow(new CliError("--sections 'speed' is not one of kernel, llama-cpp, threads, e2e, speculative, quant-kernels"));
    expect(() => parseBenchFlags({ threads: '2', context: '128', decode: '1,x' })).toThrow(/--decode must be a comma-separated list of integers in \[1, 256\], got '1,x'/);
    expect(() => parseBenchFlags({ threads: '0', context: '128' })).toThrow(/--threads/);
    expect(() => parseBenchFlags({ threads: '2', context: '128', formats: 'q5_k' })).toThrow(/--formats 'q5_k'/);
  });

  it("passes only the scheduler flags given to llm serve (the rest stay serve's defaults)", () => {
    expect(serveSchedulingArgs(parseBenchFlags({ threads: '2', context: '128' }))).toEqual([]);
    const plan = parseBenchFlags({ threads: '2', context: '128', maxPrefillTokensPerStep: '0', maxDecodeDeferMs: '500' });
    expect(serveSchedulingArgs(plan)).toEqual(['--max-prefill-tokens-per-step', '0', '--max-decode-defer-ms', '500']);
    expect(() => parseBenchFlags({ threads: '2', context: '128', maxDecodeDeferMs: '-5' })).toThrow(/--max-decode-defer-ms must be a comma-separated list of integers in \[0, 600000\], got '-5'/);
  });
});

describe('bench bandwidth probe', () => {
  it('runs the SIMD triad kernel: a[i] = b[i] + s * c[i] on every element, the tail included', () => {
    const t = wasmTriad(192); // 24 float64 per array: one 64-byte step covers 8, so three steps
    t.b.forEach((_, i) => (t.b[i] = i - 3.5));
    t.c.forEach((_, i) => (t.c[i] = 0.25 * i));
    t.a.fill(NaN);
    t.run(3);
    expect(Array.from(t.a)).toEqual(Array.from(t.b, (b, i) => b + 3 * (0.25 * i)));
    expect(() => wasmTriad(100)).toThrow(/multiple of 64/);
  });

  it('measures a positive copy and triad bandwidth and uses the larger as the denominator', async () => {
    const bw = await measureBandwidth(1, 2, 8);
    expect(bw.copyBytesPerS).toBeGreaterThan(1e8);
    expect(bw.triadBytesPerS).toBeGreaterThan(1e8);
    expect(bw.bytesPerS).toBe(Math.max(bw.copyBytesPerS, bw.triadBytesPerS));
  });
});

describe('llm bench --quick (through the command parser)', () => {
  it('prints the bandwidth, the kernel table with roofline fractions, the thread A/B and the done-when figures', async () => {
    const r = await llm('bench', '--quick', '--models', 'default', '--sections', 'kernel,threads', '--formats', 'f32,q8_0', '--rounds', '2');
    expect(r.err).toBeNull();
    expect(r.out).toMatch(/roofline denominator \d+\.\d+ GB\/s/);
    expect(r.out).toMatch(/^f32 +\d+( +\d+\.\d \(\d+\.\d\d\)){6}$/m); // decode 1, decode 8, prefill 128, wasm 1, linear-only 1 and 32
    expect(r.out).toMatch(/F32 decode batch 1, roofline fraction \(ONNX Runtime step\) +\d+\.\d\d/); // models/default is served on the loop's thread
    expect(r.out).toMatch(/ONNX Runtime's matmuls alone \(its ceiling\), batch 1 +\d+\.\d\d/);
    expect(r.out).toMatch(/^q8_0 /m);
    expect(r.out).toMatch(/longest loop stall, prefill 128 ms +\d+\.\d +\d+\.\d/);
    expect(r.out).toMatch(/F32 decode batch 1, roofline fraction \(ONNX Runtime step\) +\d+\.\d\d {3}target >= 0\.95/);
    expect(r.out).toMatch(/Q4_0 decode batch 1.*n\/a/);
  }, 120_000);

  it('prints llama.cpp on the same weights beside ours, or one line saying how to install it', async () => {
    const installed = process.env.LLM_LLAMA_CPP;
    const native = process.env.LLM_LLAMA_BENCH;
    const empty = mkdtempSync(join(tmpdir(), 'no-llama-cpp-'));
    process.env.LLM_LLAMA_CPP = empty;
    try {
      const r = await llm('bench', '--quick', '--models', 'default', '--sections', 'llama-cpp');
      expect(r.err).toBeNull();
      expect(r.out).toContain(`llama-cpp: section left out: llama.cpp peer: node-llama-cpp is not installed under LLM_LLAMA_CPP=${empty}; npm install --prefix`);
      expect(r.out).toMatch(/faster than llama\.cpp.*n\/a \(llama-cpp section not run\)/);
      // a llama-bench that cannot run costs the section, not the run
      process.env.LLM_LLAMA_BENCH = join(empty, 'no-such-llama-bench');
      const b = await llm('bench', '--quick', '--models', 'default', '--sections', 'llama-cpp', '--formats', 'f32');
      expect(b.err).toBeNull();
      expect(b.out).toContain(`llama-cpp: section failed: ${join(empty, 'no-such-llama-bench')}: spawn`);
      expect(b.out).toMatch(/"done when" figures: models\/default/);
    } finally {
      if (native === undefined) delete process.env.LLM_LLAMA_BENCH;
      else process.env.LLM_LLAMA_BENCH = native;
      if (installed === undefined) delete process.env.LLM_LLAMA_CPP;
      else process.env.LLM_LLAMA_CPP = installed;
    }
    if (!installed) return; // the real run below needs llama.cpp (.ci/run installs it; see apps/cli/peer/llama-cpp.mjs)
    const r = await llm('bench', '--quick', '--models', 'default', '--sections', 'kernel,llama-cpp', '--formats', 'f32', '--rounds', '2');
    expect(r.err).toBeNull();
    expect(r.out).toMatch(/^vs llama\.cpp: models\/default, the same weights written as GGUF, measured by (node-llama-cpp \S+'s CPU build|llama\.cpp's own llama-bench)/m);
    expect(r.out).toMatch(/^f32 +\d+\.\d \/ \d+\.\d = \d+\.\d\dx +\d+\.\d \/ \d+\.\d = \d+\.\d\dx +\d+\.\d \/ \d+\.\d = \d+\.\d\dx$/m); // prefill 128, decode 1, decode 8
    expect(r.out).toMatch(/F32 decode batch 1, ours \/ llama\.cpp \(x\) +\d+\.\d\d {3}target > 1/);
  }, 180_000);

  it('refuses an unknown section with one line', async () => {
    const r = await llm('bench', '--sections', 'gpu');
    expect(r.err).toEqual(new CliError("--sections 'gpu' is not one of kernel, llama-cpp, threads, e2e, speculative, quant-kernels"));
  });
});
