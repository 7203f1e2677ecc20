/*
 * `llm train`: train a small model from scratch (or from --init DIR) on a synthetic task or a
 * tokenized corpus and write a Hugging Face model directory that `llm generate` and
 * `llm serve` load unchanged; `llm convert-gqa`: mean-pool key/value heads into groups.
 * Thin: flags -> @llm/training job spec; progress bar on stderr; result lines on stdout.
 */
import { loadModelDir, saveModelDir } from '@llm/model';
import { convertToGqa, NonFiniteLossError, runTrainJob, TASK_NAMES, type TrainProgress } from '@llm/training';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors';
import type { RegisterCommand } from './index';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function num(flag: string, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new CliError(`${flag} ${v}: expected ${integer ? 'an integer' : 'a number'}`);
    return n;
  };
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}

/** A one-line progress bar on a TTY; a line every ~5% otherwise (logs stay readable). */
function progressPrinter(): (p: TrainProgress) => void {
  const tty = process.stderr.isTTY;
  let lastLine = -1;
  return (p) => {
    const frac = p.step / p.steps;
    const width = 24;
    const filled = Math.round(frac * width);
    const text =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ` +
      `${(p.tokensPerSecond / 1000).toFixed(1)}k tok/s ETA ${fmtTime(p.etaSeconds)}`;
    if (tty) process.stderr.write(`\r${text}${p.step === p.steps ? '\n' : ''}`);
    else {
      const bucket = Math.floor(frac * 20);
      if (bucket !== lastLine || p.step === p.steps) process.stderr.write(`${text}\n`);
      lastLine = bucket;
    }
  };
}

interface TrainFlags {
  arch?: string;
  set: string[];
  init?: string;
  task?: string;
  corpus?: string;
  tokenizer?: string;
  steps: number;
  out: string;
  batchSize?: number;
  seqLen?: number;
  lr?: number;
  minLr?: number;
  warmup?: number;
  optimizer: string;
  weightDecay?: number;
  clip?: number;
  labelSmoothing?: number;
  seed: number;
  threads: number;
  checkpointEvery?: number;
  resume?: boolean;
  eval: number;
  dtype: string;
}

async function train(f: TrainFlags): Promise<void> {
  if (f.optimizer !== 'adamw' && f.optimizer !== 'sgd') throw new CliError(`--optimizer ${f.optimizer}: expected adamw or sgd`);
  const dtype = f.dtype.toUpperCase();
  if (!['F32', 'F16', 'BF16'].includes(dtype)) throw new CliError(`--dtype ${f.dtype}: expected f32, f16 or bf16`);
  try {
    const r = await runTrainJob(
      {
        arch: f.arch, sets: f.set, init: f.init, task: f.task, corpus: f.corpus, tokenizer: f.tokenizer, steps: f.steps, out: f.out,
        batchSize: f.batchSize, seqLen: f.seqLen, lr: f.lr, minLr: f.minLr, warmup: f.warmup, optimizer: f.optimizer,
        weightDecay: f.weightDecay, clip: f.clip, labelSmoothing: f.labelSmoothing, seed: f.seed, threads: f.threads,
        checkpointEvery: f.checkpointEvery, resume: f.resume, evalExamples: f.eval, dtype: dtype as 'F32' | 'F16' | 'BF16',
      },
      progressPrinter(),
    );
    const c = r.config;
    process.stdout.write(
      `trained ${c.arch} (${(r.numParams / 1e6).toFixed(2)}M params, hidden ${c.hiddenSize}, ${c.numLayers} layers, ${c.numHeads} heads / ${c.numKvHeads} kv) ` +
        `for ${r.steps} steps in ${fmtTime(r.seconds)}: loss ${r.finalLoss.toFixed(4)}, ${Math.round(r.tokensPerSecond)} tokens/s\n`,
    );
    if (r.exactMatch) process.stdout.write(`exact match on ${r.exactMatch.total} held-out examples: ${(100 * r.exactMatch.accuracy).toFixed(1)}%\n`);
    process.stdout.write(`wrote ${r.outDir} (config.json, model.safetensors, tokenizer.json, generation_config.json; checkpoint in ${join(r.outDir, 'checkpoint')})\n`);
  } catch (e) {
    if (e instanceof NonFiniteLossError) throw new CliError(`${e.message}; ${join(f.out, 'checkpoint')} was kept and no model was exported`);
    throw new CliError((e as Error).message);
  }
}

async function convertGqa(f: { model: string; kvHeads: number; out: string; dtype: string }): Promise<void> {
  if (existsSync(f.out) && readdirSync(f.out).length > 0) throw new CliError(`--out ${f.out} already exists and is not empty; choose a new directory`);
  const dtype = f.dtype.toUpperCase();
  if (!['F32', 'F16', 'BF16'].includes(dtype)) throw new CliError(`--dtype ${f.dtype}: expected f32, f16 or bf16`);
  try {
    const m = await loadModelDir(f.model);
    const before = m.config.numKvHeads;
    const { config, weights } = convertToGqa(m.config, m.weights, f.kvHeads);
    saveModelDir(f.out, config, weights, { dtype: dtype as 'F32' | 'F16' | 'BF16', generationConfig: m.generation });
    if (m.tokenizerPath) copyFileSync(m.tokenizerPath, join(f.out, 'tokenizer.json'));
    process.stdout.write(`wrote ${f.out}: ${config.numHeads} query heads, key/value heads ${before} -> ${config.numKvHeads} (mean-pooled); fine-tune with \`llm train --init ${f.out}\`\n`);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

export const registerTrain: RegisterCommand = (program: Command) => {
  program
    .command('train')
    .description('train a small model on a synthetic task or a corpus and write a Hugging Face model directory')
    .option('--arch <arch>', 'llama | qwen2 | mixtral | gpt2 (not needed with --init)')
    .option('--set <key=value>', 'config.json override, repeatable (e.g. --set hidden_size=128)', collect, [])
    .option('--init <dir>', 'start from this model directory (e.g. the output of convert-gqa)')
    .option('--task <name>', `synthetic task: ${TASK_NAMES.join(', ')} (a size may follow: sort6, add3)`)
    .option('--corpus <file>', 'text corpus to train on (needs --tokenizer)')
    .option('--tokenizer <file>', 'tokenizer.json for --corpus (or for --task instead of its character vocabulary)')
    .requiredOption('--steps <n>', 'optimisation steps', num('--steps', true))
    .requiredOption('--out <dir>', 'output model directory (checkpoint in DIR/checkpoint)')
    .option('--batch-size <n>', 'sequences per step (default 32 for tasks, 8 for corpora)', num('--batch-size', true))
    .option('--seq-len <n>', 'window length for --corpus (default 64)', num('--seq-len', true))
    .option('--lr <x>', 'peak learning rate (default 3e-3 tasks, 1e-3 corpora)', num('--lr'))
    .option('--min-lr <x>', 'final learning rate of the cosine decay (default lr/10)', num('--min-lr'))
    .option('--warmup <n>', 'linear warmup steps (default min(100, steps/10))', num('--warmup', true))
    .option('--optimizer <name>', 'adamw | sgd', 'adamw')
    .option('--weight-decay <x>', 'decoupled weight decay on matrices (adamw default 0.01)', num('--weight-decay'))
    .option('--clip <x>', 'clip the global gradient norm (0 = off, default 1)', num('--clip'))
    .option('--label-smoothing <x>', 'cross-entropy label smoothing in [0, 1)', num('--label-smoothing'))
    .option('--seed <n>', 'seed for init, data and evaluation', num('--seed', true), 0)
    .option('--threads <n>', 'ONNX Runtime threads', num('--threads', true), 2)
    .option('--checkpoint-every <n>', 'steps between checkpoints (default max(50, steps/10))', num('--checkpoint-every', true))
    .option('--resume', 'continue the checkpoint in --out (flags must match it)')
    .option('--eval <n>', 'held-out examples for exact match (tasks)', num('--eval', true), 200)
    .option('--dtype <dtype>', 'stored weight dtype: f32 | f16 | bf16', 'f32')
    .action((opts: TrainFlags) => train(opts));

  program
    .command('convert-gqa')
    .description('turn a multi-head attention checkpoint into grouped-query attention by mean-pooling key/value heads')
    .requiredOption('--model <dir>', 'source model directory (llama, qwen2 or mixtral)')
    .requiredOption('--kv-heads <n>', 'key/value heads after conversion (divides the current count)', num('--kv-heads', true))
    .requiredOption('--out <dir>', 'output model directory')
    .option('--dtype <dtype>', 'stored weight dtype: f32 | f16 | bf16', 'f32')
    .action((opts: { model: string; kvHeads: number; out: string; dtype: string }) => convertGqa(opts));
};
