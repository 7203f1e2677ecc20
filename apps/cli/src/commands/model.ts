/*
 * `llm init-model`, `llm forward`, `llm generate`: write a random-weight Hugging Face model
 * directory, print a model's logits for given token ids, and generate with the reference
 * Transformer of @llm/model (single sequence, KV cache, counter-based seeded sampling).
 * Thin: flags -> library calls; one-line errors naming the flag, file or tensor.
 * Not the serving path: `llm serve` batches through the worker; this is its reference.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { ARCHS, Arch, SamplingParams, Transformer, generate, initModelDir, loadModelDir, modelTokenizerJson, type LoadedModel } from '@llm/model';
import { loadTokenizerJson, type Tokenizer } from '@llm/tokenizer';
import { CliError } from '../errors';
import { quantFormatFlag } from './quantize';
import type { RegisterCommand } from './index';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function num(flag: string, opts: { integer?: boolean; min?: number; max?: number } = {}) {
  return (v: string): number => {
    const n = Number(v);
    const bad = v.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max);
    if (bad) {
      const range = [opts.min !== undefined ? `>= ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : ''].filter(Boolean).join(' and ');
      throw new CliError(`${flag} ${v}: expected ${opts.integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`);
    }
    return n;
  };
}

/** "key=value" pairs; values are JSON when they parse (numbers, booleans, null, lists), else strings. */
export function parseSets(sets: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new CliError(`--set ${s}: expected key=value with a config.json key (e.g. --set hidden_size=128)`);
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    out[s.slice(0, eq)] = value;
  }
  return out;
}

/** "1,2,3" -> [1, 2, 3], each a non-negative integer. */
export function parseTokenIds(s: string): number[] {
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new CliError(`--tokens ${s}: expected comma-separated non-negative integer token ids (e.g. --tokens 1,2,3)`);
  }
  return parts.map(Number);
}

async function loadModel(dir: string | undefined, quantize?: string): Promise<LoadedModel> {
  if (!dir) throw new CliError('--model is required (a Hugging Face model directory or a .gguf file)');
  return loadModelDir(dir, { quantize: quantize === undefined ? undefined : quantFormatFlag('--quantize', quantize) });
}

function checkIds(ids: number[], model: LoadedModel): void {
  const V = model.config.vocabSize;
  const bad = ids.findIndex((id) => id >= V);
  if (bad >= 0) throw new CliError(`--tokens: token id ${ids[bad]} at position ${bad} is out of range (expected 0..${V - 1}, the vocab_size of ${model.dir})`);
  if (ids.length > model.config.maxPositions) throw new CliError(`--tokens: ${ids.length} tokens exceed max_position_embeddings=${model.config.maxPositions}`);
}

interface InitFlags {
  arch?: string;
  set: string[];
  dtype: string;
  seed: number;
  out?: string;
  force?: boolean;
}

/** A directory with anything in it is not written over unless --force says so (a file is never). */
function checkOutDir(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new CliError(`--out ${out} is a file, not a directory`);
  const entries = readdirSync(out);
  if (entries.length > 0 && !force) {
    throw new CliError(`--out ${out} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries[0]}): pass --force to write the model over it, or pick an empty directory`);
  }
}

function initModel(f: InitFlags): void {
  if (!f.arch || !ARCHS.includes(f.arch as Arch)) throw new CliError(`--arch ${f.arch ?? '(missing)'}: expected one of ${ARCHS.join(', ')}`);
  if (!f.out) throw new CliError('--out DIR is required (where to write the model directory)');
  const dtype = f.dtype.toUpperCase();
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new CliError(`--dtype ${f.dtype}: expected f32, f16 or bf16`);
  checkOutDir(f.out, f.force ?? false);
  const c = initModelDir(f.out, f.arch as Arch, { overrides: parseSets(f.set), seed: f.seed, dtype });
  process.stdout.write(
    `wrote ${f.out}: ${c.architecture} L=${c.numLayers} C=${c.hiddenSize} NH=${c.numHeads} NKV=${c.numKvHeads} V=${c.vocabSize}` +
      `${c.numExperts ? ` E=${c.numExperts} top-${c.numExpertsPerTok}` : ''} dtype=${dtype} seed=${f.seed}\n`,
  );
}

async function forward(f: { model?: string; tokens?: string; json?: boolean; quantize?: string }): Promise<void> {
  if (!f.tokens) throw new CliError('--tokens IDS is required (e.g. --tokens 1,2,3)');
  const ids = parseTokenIds(f.tokens);
  const model = await loadModel(f.model, f.quantize);
  checkIds(ids, model);
  const logits = await new Transformer(model.config, model.weights).forward(ids);
  const V = model.config.vocabSize;
  const rows = ids.map((_, t) => Array.from(logits.subarray(t * V, (t + 1) * V)));
  if (f.json) {
    process.stdout.write(`${JSON.stringify({ logits: rows })}\n`);
    return;
  }
  rows.forEach((row, t) => {
    const best = row.indexOf(Math.max(...row));
    process.stdout.write(`position ${t} token ${ids[t]}: argmax ${best} (logit ${row[best].toFixed(4)})\n`);
  });
}

interface GenerateFlags {
  model?: string;
  prompt?: string;
  tokens?: string;
  maxTokens: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
  json?: boolean;
  quantize?: string;
}

/** The model's tokenizer; with --tokens one that is missing or unusable only costs the text (one warning line). */
function loadTokenizer(model: LoadedModel, needed: boolean): Tokenizer | null {
  const json = modelTokenizerJson(model);
  if (json === null) {
    const what = model.tokenizerPath === null && model.embeddedTokenizer !== undefined ? `GGUF file ${model.dir} has no vocabulary` : `model dir ${model.dir} has no tokenizer.json`;
    if (needed) throw new CliError(`${what} (needed for --prompt; pass --tokens IDS instead)`);
    return null;
  }
  const path = model.tokenizerPath ?? model.dir;
  try {
    return loadTokenizerJson(json, path);
  } catch (err) {
    const line = `${path}: ${(err as Error).message.split('\n')[0].replace(/^tokenizer\.json: /, '')}`;
    if (needed) throw new CliError(line);
    process.stderr.write(`llm: ${line} (printing token ids only)\n`);
    return null;
  }
}

/** Flags over generation_config.json defaults. */
function samplingFrom(f: GenerateFlags, model: LoadedModel): SamplingParams {
  const g = model.generation;
  return {
    temperature: f.temperature ?? g.temperature,
    topK: f.topK ?? g.topK,
    topP: f.topP ?? g.topP,
    minP: f.minP ?? g.minP,
    repetitionPenalty: f.repetitionPenalty ?? g.repetitionPenalty,
    presencePenalty: f.presencePenalty,
    frequencyPenalty: f.frequencyPenalty,
    seed: f.seed, // none: a random seed per run
  };
}

async function generateCmd(f: GenerateFlags): Promise<void> {
  if ((f.prompt === undefined) === (f.tokens === undefined)) throw new CliError('pass exactly one of --prompt TEXT or --tokens IDS');
  const model = await loadModel(f.model, f.quantize);
  const tokenizer = loadTokenizer(model, f.prompt !== undefined);
  const prompt = f.prompt !== undefined ? tokenizer!.encode(f.prompt) : parseTokenIds(f.tokens!);
  if (prompt.length === 0) throw new CliError('--prompt encodes to no tokens (expected some text)');
  checkIds(prompt, model);
  const transformer = new Transformer(model.config, model.weights);
  let sampling: SamplingParams;
  try {
    sampling = samplingFrom(f, model);
    const out = await generate(transformer, prompt, { maxTokens: f.maxTokens, sampling, stopTokenIds: model.generation.eosTokenIds });
    const text = tokenizer ? tokenizer.decode(out.tokens) : '';
    if (f.json) process.stdout.write(`${JSON.stringify({ tokens: out.tokens, text })}\n`);
    else process.stdout.write(tokenizer ? `${text}\n` : `${out.tokens.join(',')}\n`);
  } catch (e) {
    if (/^sampling /.test((e as Error).message)) throw new CliError((e as Error).message);
    throw e;
  }
}

export const registerModel: RegisterCommand = (program: Command) => {
  program
    .command('init-model')
    .description('write a random-weight Hugging Face model directory (config.json, model.safetensors, tokenizer.json)')
    .option('--arch <arch>', `architecture: ${ARCHS.join(' | ')}`)
    .option('--set <key=value>', 'config.json override, repeatable (e.g. --set hidden_size=576)', collect, [])
    .option('--dtype <dtype>', 'weight dtype: f32 | f16 | bf16', 'f32')
    .option('--seed <n>', 'weight and tokenizer seed', num('--seed', { integer: true, min: 0 }), 0)
    .option('--out <dir>', 'output directory (new or empty)')
    .option('--force', 'write over a directory that is not empty')
    .action((f: InitFlags) => initModel(f));

  program
    .command('forward')
    .description('print the logits of every position for the given token ids')
    .option('--model <path>', 'Hugging Face model directory or .gguf file')
    .option('--tokens <ids>', 'comma-separated token ids, e.g. 1,2,3')
    .option('--quantize <format>', 'quantize the linear layers while loading: q8_0 | q4_0')
    .option('--json', 'print {"logits": [[...V floats], ...]}, one row per input position')
    .action((f) => forward(f));

  program
    .command('generate')
    .description('generate tokens with the reference transformer (defaults from generation_config.json)')
    .option('--model <path>', 'Hugging Face model directory or .gguf file')
    .option('--quantize <format>', 'quantize the linear layers while loading: q8_0 | q4_0')
    .option('--prompt <text>', 'prompt text (needs tokenizer.json or a GGUF vocabulary)')
    .option('--tokens <ids>', 'prompt token ids, e.g. 1,2,3')
    .option('--max-tokens <n>', 'tokens to generate', num('--max-tokens', { integer: true, min: 0 }), 16)
    .option('--temperature <t>', '0 = greedy', num('--temperature', { min: 0 }))
    .option('--top-p <p>', 'nucleus sampling mass (0, 1]', num('--top-p', { min: 0, max: 1 }))
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', num('--top-k', { integer: true, min: 0 }))
    .option('--min-p <p>', 'drop tokens below p x the top probability', num('--min-p', { min: 0, max: 1 }))
    .option('--repetition-penalty <r>', '> 1 discourages repeats', num('--repetition-penalty', { min: 0 }))
    .option('--presence-penalty <x>', 'subtracted once per generated token id', num('--presence-penalty', { min: -2, max: 2 }))
    .option('--frequency-penalty <x>', 'subtracted per occurrence', num('--frequency-penalty', { min: -2, max: 2 }))
    .option('--seed <s>', 'sampling seed (same seed, same tokens)', num('--seed', { integer: true, min: 0 }))
    .option('--json', 'print {"tokens": [...], "text": "..."}')
    .action((f: GenerateFlags) => generateCmd(f));
};
