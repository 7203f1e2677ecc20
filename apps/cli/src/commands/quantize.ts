/*
 * `llm quantize`: a llama-family model (a Hugging Face directory or a GGUF file) quantized to
 * Q8_0 or Q4_0 (ggml's block formats; the LM head in Q8_0 unless --head says otherwise), or
 * converted to F32 or F16 (a plain conversion, as llama.cpp's converter does with --outtype:
 * F16 holds the matrices, norms, biases and the MoE router stay F32 in the GGUF file; a model
 * directory stores every tensor as F16, like a float16 Hugging Face checkpoint), written as a
 * model directory (--out: config.json records the format; every command that takes --model
 * loads it) and/or as one GGUF file llama.cpp can load (--gguf). Progress bars on stderr.
 * Refuses, with one line each: a non-empty --out, an existing --gguf file, an architecture that
 * cannot be quantized, a model that is already quantized, a weight past F16's range.
 * Thin: flags -> @llm/model (quantizeModelWeights, saveModelDir, saveGguf).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { F16RangeError, loadModelDir, modelTokenizerJson, parseQuantFormat, QUANT_FORMATS, quantizeModelWeights, saveGguf, saveModelDir, unsupportedForQuantization, type LoadedModel, type QuantFormat } from '@llm/model';
import { CliError } from '../errors';
import { progressBar } from '../progress-bar';
import type { RegisterCommand } from './index';

interface QuantizeFlags {
  model?: string;
  format?: string;
  out?: string;
  gguf?: string;
  head: string;
}

/** --format / --quantize value as a format, or a one-line error. */
export function quantFormatFlag(flag: string, v: string): QuantFormat {
  try {
    return parseQuantFormat(v, flag);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

function headFlag(v: string): QuantFormat | 'f32' {
  if (v.trim().toLowerCase() === 'f32') return 'f32';
  if (!(QUANT_FORMATS as readonly string[]).includes(v.trim().toLowerCase())) throw new CliError(`--head "${v}" is not supported (expected q8_0, q4_0 or f32)`);
  return v.trim().toLowerCase() as QuantFormat;
}

function checkTargets(f: QuantizeFlags): void {
  if (!f.out && !f.gguf) throw new CliError('pass --out DIR (a quantized model directory) and/or --gguf FILE (a GGUF file)');
  if (f.out && existsSync(f.out) && readdirSync(f.out).length > 0) throw new CliError(`--out ${f.out} is not empty (choose a new or empty directory)`);
  if (f.gguf && existsSync(f.gguf)) throw new CliError(`--gguf ${f.gguf} already exists (choose a new file name)`);
}

/** The tokenizer files to copy or embed: tokenizer.json and tokenizer_config.json of the source. */
function tokenizerOf(model: LoadedModel): { json: Record<string, unknown> | null; config: Record<string, unknown> | null } {
  if (model.embeddedTokenizer) return { json: model.embeddedTokenizer.tokenizerJson, config: model.embeddedTokenizer.tokenizerConfig };
  const text = modelTokenizerJson(model);
  const cfgPath = join(model.dir, 'tokenizer_config.json');
  return { json: text ? JSON.parse(text) : null, config: existsSync(cfgPath) ? JSON.parse(readFileSync(cfgPath, 'utf8')) : null };
}

const FLOAT_FORMATS = ['f32', 'f16'] as const;
type FloatFormat = (typeof FLOAT_FORMATS)[number];

/** --format: a float format (plain conversion) or a block format (quantization). */
function targetFormat(v: string): FloatFormat | QuantFormat {
  const f = v.trim().toLowerCase();
  if ((FLOAT_FORMATS as readonly string[]).includes(f)) return f as FloatFormat;
  if ((QUANT_FORMATS as readonly string[]).includes(f)) return f as QuantFormat;
  throw new CliError(`--format "${v}" is not supported (expected f32, f16, q8_0 or q4_0)`);
}

async function quantize(f: QuantizeFlags): Promise<void> {
  if (!f.model) throw new CliError('--model is required (a Hugging Face model directory or a .gguf file)');
  if (!f.format) throw new CliError('--format is required (f32, f16, q8_0 or q4_0)');
  const fmt = targetFormat(f.format);
  const float = fmt === 'f32' || fmt === 'f16';
  const head = headFlag(f.head);
  checkTargets(f);
  const say = (l: string) => process.stderr.write(`[quantize] ${l}\n`);
  say(`loading ${f.model}`);
  const model = await loadModelDir(resolve(f.model));
  const unsupported = unsupportedForQuantization(model.config);
  if (unsupported) throw new CliError(`${f.model}: ${unsupported}`);
  if (model.quantization) throw new CliError(`${f.model} is already quantized (${model.quantization.format}); quantize the f32/f16/bf16 model instead`);
  const weights = float ? model.weights : quantizeModelWeights(model.config, model.weights, { format: fmt, head, onProgress: progressBar(`quantizing to ${fmt}`) });
  const tok = tokenizerOf(model);
  try {
    if (f.out) {
      say(`writing ${f.out}`);
      saveModelDir(f.out, model.config, weights, { dtype: fmt === 'f16' ? 'F16' : 'F32', tokenizerJson: tok.json ?? undefined, generationConfig: model.generation });
      if (tok.config) saveTokenizerConfig(f.out, tok.config);
    }
    if (f.gguf) {
      saveGguf(f.gguf, { config: model.config, weights, generation: model.generation }, {
        name: basename(resolve(f.model)).replace(/\.gguf$/, ''),
        tokenizerJson: tok.json,
        tokenizerConfig: tok.config,
        floatType: fmt === 'f16' ? 'f16' : 'f32',
        onProgress: progressBar(`writing ${basename(f.gguf)}`),
      });
    }
  } catch (e) {
    if (e instanceof F16RangeError) throw new CliError(`${f.model}: ${e.message}`);
    throw e;
  }
  const what = float ? `converted ${f.model} to ${fmt}` : `quantized ${f.model} to ${fmt} (head ${head})`;
  process.stdout.write(`${what}${f.out ? `: wrote ${f.out}` : ''}${f.gguf ? `${f.out ? ' and' : ': wrote'} ${f.gguf}` : ''}\n`);
}

function saveTokenizerConfig(dir: string, config: Record<string, unknown>): void {
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

export const registerQuantize: RegisterCommand = (program: Command) => {
  program
    .command('quantize')
    .description('quantize or convert a llama-family model (Q8_0, Q4_0, F16, F32): a model directory (--out) and/or a GGUF file (--gguf)')
    .option('--model <path>', 'Hugging Face model directory or .gguf file to quantize or convert')
    .option('--format <format>', 'q8_0 | q4_0 (quantize the linear layers) | f16 | f32 (plain conversion; F16 keeps norms, biases and the MoE router F32 in GGUF)')
    .option('--head <format>', 'the LM head under q8_0 / q4_0: q8_0 | q4_0 | f32', 'q8_0')
    .option('--out <dir>', 'write a quantized model directory (must be new or empty)')
    .option('--gguf <file>', 'write a GGUF file llama.cpp can load (must not exist)')
    .action((f: QuantizeFlags) => quantize(f));
};
