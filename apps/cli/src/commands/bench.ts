/*
 * `llm bench`: one benchmark for the serving path, on the SmolLM-135M shape (random weights)
 * and on models/default. Sections (--sections): the memory bandwidth (triad, always: the roofline
 * denominator), `kernel` (prefill / decode tok/s per weight format with roofline fractions),
 * `llama-cpp` (llama.cpp itself on the same weights as GGUF, the baseline the kernel rows are
 * divided by), `threads` (the step on the event loop vs on a worker thread), `e2e` (streaming
 * clients through a real `llm serve`, embedded and distributed) and `quant-kernels`
 * (model:bench-quant's kernel comparison, run as its own process). Ends with issue 20's "done when" figures as ratios.
 * Progress on stderr, tables on stdout, the load average at start and end.
 * Thin: flags -> bench/*.ts. Not a pass/fail gate (see bench/report.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadModelDir, twoByteTokenizer } from '@llm/model';
import { toTokenizerJson } from '@llm/tokenizer';
import { measureBandwidth } from '../bench/bandwidth';
import { runE2e, type E2eResult } from '../bench/e2e';
import { runSpeculative, serveHasSpeculative, type SpeculativeResult } from '../bench/speculative';
import { kernelRows, servedOffThread, threadAb, type KernelRow, type ThreadAb } from '../bench/kernel';
import { llamaCppRows, peerDriver, probePeer, type PeerRow } from '../bench/llama-cpp';
import { batchedBenchPath, llamaBenchPath } from '../bench/llama-bench';
import { llamaCppTable } from '../bench/report-llama-cpp';
import { parseBenchFlags, serveSchedulingArgs, type BenchFlags, type BenchModelName, type BenchPlan } from '../bench/options';
import { doneWhen, e2eTable, kernelTable, speculativeTable, threadTable } from '../bench/report';
import { smolLmModel, writeBenchModelDir, type BenchModel } from '../bench/workload';
import { repoRoot, resolveDefaultModel } from '../serve/default-model';
import type { RegisterCommand } from './index';

const t0 = Date.now();
const progress = (s: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const print = (s: string) => void process.stdout.write(`${s}\n`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** The model and a directory `llm serve` can load (the SmolLM shape is written to a temp dir only when e2e needs it). */
async function benchModel(name: BenchModelName, plan: BenchPlan): Promise<{ model: BenchModel; dir: () => string; tokenizerJson: () => Record<string, unknown>; cleanup: () => void }> {
  if (name === 'default') {
    const dir = resolveDefaultModel(progress);
    const loaded = await loadModelDir(dir);
    const tokenizerJson = () => JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    return { model: { name: 'models/default', config: loaded.config, weights: loaded.weights }, dir: () => dir, tokenizerJson, cleanup: () => undefined };
  }
  progress(`random ${plan.smolLayers}-layer SmolLM-135M-shaped weights`);
  const model = smolLmModel(plan.smolLayers);
  let tmp: string | undefined;
  return {
    model,
    tokenizerJson: () => toTokenizerJson(twoByteTokenizer(model.config.vocabSize)) as unknown as Record<string, unknown>,
    dir: () => {
      if (!tmp) {
        tmp = mkdtempSync(join(tmpdir(), 'llm-bench-smollm-'));
        progress(`writing the model to ${tmp} for llm serve`);
        writeBenchModelDir(model, tmp);
      }
      return tmp;
    },
    cleanup: () => tmp && rmSync(tmp, { recursive: true, force: true }),
  };
}

async function benchOne(name: BenchModelName, plan: BenchPlan, bandwidth: number): Promise<void> {
  const { model, dir, tokenizerJson, cleanup } = await benchModel(name, plan);
  try {
    const kplan = { formats: plan.formats, prefill: plan.prefill, decode: plan.decode, rounds: plan.rounds, threads: plan.threads, context: plan.context };
    let rows: KernelRow[] = [];
    let ab: ThreadAb | undefined;
    const e2e: E2eResult[] = [];
    if (plan.sections.has('kernel')) {
      rows = await kernelRows(model, kplan, progress);
      print(kernelTable(model.name, rows, bandwidth, servedOffThread(model)).join('\n'));
    }
    let peer: PeerRow[] | undefined;
    if (plan.sections.has('llama-cpp')) peer = await llamaCppSection(model, tokenizerJson, rows, plan);
    if (plan.sections.has('threads')) {
      ab = await threadAb(model, kplan, progress);
      print(threadTable(model.name, ab).join('\n'));
    }
    if (plan.sections.has('e2e')) {
      const kvCacheGib = Math.max(0.05, (64 * (plan.burstPrompt + plan.outputTokens + 64) * model.config.numLayers * 2 * model.config.numKvHeads * model.config.headDim * 4) / 2 ** 30);
      for (const mode of plan.modes) {
        const r = await runE2e({
          modelDir: dir(), clients: plan.clients, promptTokens: plan.promptTokens, outputTokens: plan.outputTokens, burst: mode === 'embedded' ? plan.burst : 0,
          burstPrompt: plan.burstPrompt, threads: plan.threads, kvCacheGib: Number(kvCacheGib.toFixed(3)), vocabSize: model.config.vocabSize, extraServeArgs: serveSchedulingArgs(plan), cliEntry: join(repoRoot(), 'apps', 'cli', 'bin', 'llm.js'),
        }, mode, progress);
        e2e.push(r);
        print(e2eTable(model.name, r).join('\n'));
      }
    }
    let spec: SpeculativeResult | undefined;
    if (plan.sections.has('speculative')) {
      const cliEntry = join(repoRoot(), 'apps', 'cli', 'bin', 'llm.js');
      if (!serveHasSpeculative(cliEntry)) print('\nspeculative: this build of llm serve has no --speculative flag; section left out');
      else {
        spec = await runSpeculative({
          modelDir: dir(), clients: [1], promptTokens: 96, outputTokens: plan.outputTokens, burst: 0, burstPrompt: 0, threads: plan.threads,
          kvCacheGib: 0.25, vocabSize: model.config.vocabSize, extraServeArgs: [], cliEntry,
        }, progress);
        print(speculativeTable(model.name, spec).join('\n'));
      }
    }
    print(doneWhen(model.name, { kernel: rows, bandwidth, ab, e2e, spec, burstPromptTokens: plan.burstPrompt, servedWasm: servedOffThread(model), peer }).join('\n'));
  } finally {
    cleanup();
  }
}

/** The probe's answer per LLM_LLAMA_CPP value (one probe per run, not one per model). */
const peerProbes = new Map<string, { version: string } | { why: string }>();

/** llama.cpp on the same weights (bench/llama-cpp.ts), printed against our kernel rows; one line instead when it is not installed. */
async function llamaCppSection(model: BenchModel, tokenizerJson: () => Record<string, unknown>, ours: KernelRow[], plan: BenchPlan): Promise<PeerRow[] | undefined> {
  const driver = peerDriver(repoRoot());
  const key = process.env.LLM_LLAMA_CPP ?? '';
  if (!peerProbes.has(key)) peerProbes.set(key, probePeer(driver));
  const peerProbe = peerProbes.get(key)!;
  const native = llamaBenchPath();
  if ('why' in peerProbe && !native) {
    print(`\nllama-cpp: section left out: ${peerProbe.why}`);
    return undefined;
  }
  if ('why' in peerProbe && !batchedBenchPath(native)) print(`\nllama-cpp: decode at batch > 1 left out (it needs llama-batched-bench beside llama-bench, or node-llama-cpp): ${peerProbe.why}`);
  let rows: PeerRow[];
  try {
    rows = await llamaCppRows('why' in peerProbe ? null : driver, native, model, tokenizerJson(), {
      formats: plan.formats, prefill: plan.prefill, decode: plan.decode, threads: plan.threads, context: plan.context, rounds: plan.quick ? 1 : 2, steps: plan.quick ? 8 : 16,
    }, progress);
  } catch (e) {
    // llama.cpp failing (a wrong LLM_LLAMA_BENCH, a file it refuses) costs this section, not the run.
    print(`\nllama-cpp: section failed: ${(e as Error).message}`);
    return undefined;
  }
  print(llamaCppTable(model.name, 'version' in peerProbe ? peerProbe.version : null, ours, rows, servedOffThread(model), plan.threads).join('\n'));
  return rows;
}

/** model:bench-quant's kernel comparison, compiled by `npm run build`, as its own process. */
function quantKernels(plan: BenchPlan): void {
  const script = join(repoRoot(), 'libs', 'model', 'dist', 'bench', 'quant.js');
  if (!existsSync(script)) {
    print(`\nquant-kernels: ${script} is missing (run \`npm run build\` first)`);
    return;
  }
  progress('quant-kernels: running model:bench-quant');
  const r = spawnSync(process.execPath, [script, ...(plan.quick ? ['--fast'] : [])], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) print(`\nquant-kernels: the kernel comparison exited with ${r.status ?? r.signal}`);
}

async function bench(flags: BenchFlags): Promise<void> {
  const plan = parseBenchFlags(flags);
  print(`llm bench${plan.quick ? ' --quick' : ''}: load average at start ${load()} (a shared machine moves absolute numbers; ratios within one run move less)`);
  progress(`measuring memory bandwidth (triad and copy, ${plan.threads} threads)`);
  const bw = await measureBandwidth(plan.threads, plan.quick ? 3 : 8);
  const gb = (x: number) => (x / 1e9).toFixed(2);
  print(`memory bandwidth, ${bw.threads} threads: triad (wasm SIMD) ${gb(bw.triadBytesPerS)} GB/s, copy (memcpy), all threads at once ${gb(bw.copyBytesPerS)} GB/s; roofline denominator ${gb(bw.bytesPerS)} GB/s`);
  for (const m of plan.models) await benchOne(m, plan, bw.bytesPerS);
  if (plan.sections.has('quant-kernels')) quantKernels(plan);
  print(`\nload average at end: ${load()}`);
}

export const registerBench: RegisterCommand = (program: Command) => {
  program
    .command('bench')
    .description('benchmark the serving path: kernel tok/s with roofline fractions, step thread A/B, streaming clients through llm serve')
    .option('--quick', 'a CI-sized smoke run: 2-layer SmolLM shape, few rounds, small load levels')
    .option('--sections <list>', 'comma-separated: kernel, llama-cpp (llama.cpp on the same weights; needs node-llama-cpp installed, see apps/cli/peer/llama-cpp.mjs), threads, e2e, speculative, quant-kernels (default all but quant-kernels)')
    .option('--models <list>', 'comma-separated: smollm (SmolLM-135M shape, random weights), default (models/default)')
    .option('--formats <list>', 'weight formats of the kernel section: f32, q8_0, q4_0')
    .option('--prefill <list>', 'prefill lengths (default 128,512,2048)')
    .option('--decode <list>', 'decode batch sizes (default 1,8,32,64)')
    .option('--clients <list>', 'concurrent streaming clients of the e2e section (default 1,8,32,64)')
    .option('--modes <list>', 'e2e serving modes: embedded, distributed, embedded-loop (embedded with --ort-main-thread: the old path, for A/B), embedded-async / embedded-sync / distributed-sync (--async-scheduling on / off / off, for A/B)')
    .option('--rounds <n>', 'timed rounds per kernel figure (default 12)')
    .option('--output-tokens <n>', 'tokens each e2e request generates (default 48)')
    .option('--context <n>', 'cached tokens per sequence in decode steps', '128')
    .option('--max-num-batched-tokens <n>', "e2e: llm serve's token budget per scheduler step (default: serve's)")
    .option('--max-prefill-tokens-per-step <n>', "e2e: llm serve's prefill tokens per scheduler step (default: serve's)")
    .option('--max-decode-defer-ms <n>', "e2e: llm serve's longest decode deferral while prompts wait (default: serve's)")
    .option('--threads <n>', 'ONNX Runtime intra-op threads (and triad threads)', '2')
    .action(async (flags: BenchFlags) => bench(flags));
};
